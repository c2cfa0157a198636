using System.Text;

namespace AttnScope.Sources.Tokenization;

/// <summary>One normalisation step of a Hugging Face tokenizer.json, applied with offsets kept (<see cref="AlignedText"/>).</summary>
internal abstract record NormalizerStep
{
    public abstract AlignedText Apply(AlignedText text);
}

/// <summary>NFC, NFD, NFKC or NFKD.</summary>
internal sealed record UnicodeFormStep(NormalizationForm Form) : NormalizerStep
{
    public override AlignedText Apply(AlignedText text) => text.Normalize(Form);
}

/// <summary>Lower-casing.</summary>
internal sealed record LowercaseStep : NormalizerStep
{
    public override AlignedText Apply(AlignedText text) => text.Lowercase();
}

/// <summary>Puts a fixed string before non-empty text (Llama's "▁").</summary>
internal sealed record PrependStep(string Prefix) : NormalizerStep
{
    public override AlignedText Apply(AlignedText text) => text.Prepend(Prefix);
}

/// <summary>Replaces a literal string (Llama's " " → "▁").</summary>
internal sealed record ReplaceStep(string Pattern, string Content) : NormalizerStep
{
    public override AlignedText Apply(AlignedText text) => text.Replace(Pattern, Content);
}
