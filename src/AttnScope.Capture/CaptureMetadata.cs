namespace AttnScope.Capture;

/// <summary>Who made a capture and from what input.</summary>
public sealed class CaptureMetadata
{
    /// <summary>The format id written into every capture file; <see cref="AttentionCapture.Load(string)"/> reads only this version.</summary>
    public const string FormatId = "attnscope.capture/1";

    /// <summary>Model id as the user named it (e.g. <c>minilm</c>, <c>hf:org/name@rev</c>, a path).</summary>
    public string ModelId { get; init; } = "";
    /// <summary>Architecture family, e.g. <c>bert</c>, <c>gpt2</c>, <c>encoder-decoder</c>.</summary>
    public string Architecture { get; init; } = "";
    /// <summary><c>managed</c> (AttnScope's engine) or <c>onnx</c> (ONNX Runtime).</summary>
    public string Source { get; init; } = "";
    /// <summary>The input text(s): one, or two for a sentence pair.</summary>
    public IReadOnlyList<string> Texts { get; init; } = [];
    /// <summary>Warnings raised while capturing (e.g. truncation), kept with the data.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>Any further string metadata, kept verbatim on save and load.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();
}
