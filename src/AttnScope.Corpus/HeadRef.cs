using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>A head named as <c>L.H</c> (layer and head, both from 0).</summary>
internal readonly record struct HeadRef(int Layer, int Head)
{
    /// <summary>The <c>L.H</c> form.</summary>
    public override string ToString() => $"{Layer}.{Head}";

    /// <summary>Parses one <c>L.H</c>.</summary>
    public static HeadRef Parse(string text)
    {
        var parts = text.Trim().Split('.');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int l)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h))
            throw new AttnScopeException($"'{text}' is not a head: write LAYER.HEAD, counting from 0 (e.g. 2.5)");
        return new HeadRef(l, h);
    }

    /// <summary>Parses a comma-separated list (empty or null: none), without duplicates.</summary>
    public static IReadOnlyList<HeadRef> ParseList(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Parse).Distinct().ToList();

    /// <summary>Checks the head exists in a model of <paramref name="layers"/> × <paramref name="heads"/>.</summary>
    public void Check(int layers, int heads)
    {
        if (Layer >= layers || Head >= heads)
            throw new AttnScopeException($"head {this} does not exist: the model has layers 0..{layers - 1} and heads 0..{heads - 1}");
    }
}
