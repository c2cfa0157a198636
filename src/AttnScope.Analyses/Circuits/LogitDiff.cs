using AttnScope.Capture;
using AttnScope.Sources.Transformer;

namespace AttnScope.Analyses.Circuits;

/// <summary>
/// The metric most circuit analyses measure: logit(<see cref="Target"/>) − logit(<see cref="Distractor"/>) at one
/// position (the last unless an analysis says otherwise), e.g. " Mary" − " John" in the indirect-object task.
/// </summary>
internal readonly record struct LogitDiff(int Target, int Distractor)
{
    /// <summary>Checks both ids against the model's vocabulary.</summary>
    /// <exception cref="AttnScopeException">An id out of range, or target and distractor the same token.</exception>
    public void Validate(TransformerSpec spec)
    {
        if ((uint)Target >= (uint)spec.Vocab) throw new AttnScopeException($"target token id {Target} is out of range for vocabulary size {spec.Vocab}");
        if ((uint)Distractor >= (uint)spec.Vocab) throw new AttnScopeException($"distractor token id {Distractor} is out of range for vocabulary size {spec.Vocab}");
        if (Target == Distractor) throw new AttnScopeException($"target and distractor are the same token ({Target}); a logit difference needs two tokens");
    }

    /// <summary>logit[target] − logit[distractor] of one row of logits.</summary>
    public float Of(ReadOnlySpan<float> logits) => logits[Target] - logits[Distractor];

    /// <summary>Text for titles: "logit(12) − logit(34)", or with token texts when a decoder is given.</summary>
    public string Describe(Func<int, string>? tokenText = null)
    {
        string T(int id) => tokenText is null ? id.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"'{TokenText.Printable(tokenText(id))}'";
        return $"logit({T(Target)}) − logit({T(Distractor)})";
    }
}
