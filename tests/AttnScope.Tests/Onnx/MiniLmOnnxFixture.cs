using AttnScope.Sources.Models;
using AttnScope.Sources.Onnx;
using AttnScope.Sources.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace AttnScope.Tests.Onnx;

/// <summary>The embedded all-MiniLM-L6-v2 ONNX model, parsed once and opened once for all ONNX tests.</summary>
public sealed class MiniLmOnnxFixture : IDisposable
{
    public string OnnxPath { get; }
    internal OnnxModel Model { get; }
    internal OnnxAttentionSource Source { get; }
    private WeightStore? _weights;

    public MiniLmOnnxFixture()
    {
        OnnxPath = EmbeddedMiniLm.Extract().OnnxPath;
        Model = OnnxModel.Load(OnnxPath);
        Source = new OnnxAttentionSource(Model, new OnnxSessionSettings { IntraOpThreads = 1 });
    }

    internal WeightStore Weights => _weights ??= OnnxBertWeights.Recover(Model);

    internal static EncodedInput Input(params int[] ids) => new(ids, new int[ids.Length], [], []);

    /// <summary>Runs a model's bytes with ONNX Runtime directly, returning the requested outputs for one sequence.</summary>
    public static Dictionary<string, (long[] Shape, float[] Data)> RunPlain(byte[] modelBytes, int[] ids, params string[] outputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(modelBytes, options);
        long[] shape = [1, ids.Length];
        using var idsV = OrtValue.CreateTensorValueFromMemory(ids.Select(i => (long)i).ToArray(), shape);
        using var maskV = OrtValue.CreateTensorValueFromMemory(ids.Select(_ => 1L).ToArray(), shape);
        using var typeV = OrtValue.CreateTensorValueFromMemory(ids.Select(_ => 0L).ToArray(), shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idsV, maskV, typeV], outputs);
        var map = new Dictionary<string, (long[], float[])>();
        for (int i = 0; i < outputs.Length; i++)
            map[outputs[i]] = (results[i].GetTensorTypeAndShape().Shape, results[i].GetTensorDataAsSpan<float>().ToArray());
        return map;
    }

    public void Dispose() => Source.Dispose();
}

[CollectionDefinition("minilm-onnx")]
public sealed class MiniLmOnnxCollection : ICollectionFixture<MiniLmOnnxFixture>;
