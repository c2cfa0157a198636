using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources;

/// <summary>Something that runs a model and reports its attention: the managed engine or ONNX Runtime.</summary>
internal interface IAttentionSource : IDisposable
{
    /// <summary><c>managed</c> or <c>onnx</c>, as written into the capture's metadata.</summary>
    string Name { get; }

    /// <summary>Runs a batch of inputs (any lengths); one result per input, cropped to its real tokens.</summary>
    IReadOnlyList<SequenceAttention> Run(IReadOnlyList<EncodedInput> batch, bool captureQkv);
}

internal enum EngineKind { Managed, Onnx }
