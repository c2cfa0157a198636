using AttnScope.Capture;
using AttnScope.Sources.Engine;
using AttnScope.Sources.Models;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Sources;

/// <summary>Builds the attention source a user asked for from a model's files.</summary>
internal static class SourceFactory
{
    /// <summary>The managed engine, with weights from model.safetensors or, failing that, recovered from the ONNX graph.</summary>
    public static IAttentionSource Managed(ModelFiles files, BertConfig config) =>
        new ManagedSource(BertFamily.Load(config, ManagedWeights(files, config)));

    /// <summary>The weights the managed engine runs on: model.safetensors (or its shards) or, failing that, recovered from the ONNX graph.</summary>
    public static WeightStore ManagedWeights(ModelFiles files, BertConfig config)
    {
        if (files.SafetensorsPath is not null || files.SafetensorsIndexPath is not null) return SafetensorsWeights.Load(files);
        if (files.OnnxPath is not null)
        {
            var weights = OnnxBertWeights.Recover(files.OnnxPath);
            OnnxBertWeights.CheckComplete(weights, config);
            return weights;
        }
        throw new AttnScopeException($"model '{files.Id}' has no weights file (model.safetensors or model.onnx)");
    }

    /// <summary>ONNX Runtime on the model's .onnx file.</summary>
    public static IAttentionSource Onnx(ModelFiles files, BertConfig config)
    {
        if (files.OnnxPath is null)
            throw new AttnScopeException($"model '{files.Id}' has no .onnx file; use --engine managed (or export the model to ONNX)");
        var source = OnnxAttentionSource.Load(files.OnnxPath);
        if (source.LayerCount != config.NumLayers)
        {
            source.Dispose();
            throw new AttnScopeException($"'{files.OnnxPath}' has {source.LayerCount} attention Softmax nodes but the config says {config.NumLayers} layers");
        }
        return new OnnxSource(source);
    }

    public static BertConfig InferConfigFromOnnx(string path) => OnnxBertWeights.InferConfig(OnnxModel.Load(path));

    internal sealed class ManagedSource(TransformerModel engine) : IAttentionSource
    {
        public TransformerModel Model => engine;
        public string Name => "managed";
        public IReadOnlyList<SequenceAttention> Run(IReadOnlyList<EncodedInput> batch, bool captureQkv) => engine.RunBatch(batch, captureQkv);
        public void Dispose() { }
    }

    private sealed class OnnxSource(OnnxAttentionSource source) : IAttentionSource
    {
        public string Name => "onnx";
        public IReadOnlyList<SequenceAttention> Run(IReadOnlyList<EncodedInput> batch, bool captureQkv) =>
            source.Run(batch, captureScores: captureQkv, captureQkv: captureQkv);
        public void Dispose() => source.Dispose();
    }
}
