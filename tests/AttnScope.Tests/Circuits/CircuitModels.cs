using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Tests.Core;

namespace AttnScope.Tests.Circuits;

/// <summary>The tiny golden decoders, and the same models with their tensors changed before the core is built.</summary>
internal static class CircuitModels
{
    public static TransformerModel Load(string name) => DecoderGoldenTests.Load(name);

    public static int[] Prompt(string name) => DecoderGoldenTests.Golden(name).Prompt;

    /// <summary>The model rebuilt after <paramref name="change"/> edits its mapped tensors (a fresh copy each call).</summary>
    public static TransformerModel Modified(string name, Action<TransformerSpec, CoreTensors> change)
    {
        var dir = DecoderGoldenTests.Folder(name);
        var (family, spec) = ModelFamilies.ReadDecoder(Path.Combine(dir, "config.json"));
        var weights = SafetensorsWeights.Load(Path.Combine(dir, "model.safetensors"));
        var tensors = family.MapWeights(spec, weights);
        change(spec, tensors);
        return new TransformerModel(spec, tensors, name + " (modified)");
    }

    /// <summary>A logit difference that is far from zero on the prompt: the model's top token against its bottom one.</summary>
    public static AttnScope.Analyses.Circuits.LogitDiff TopVersusBottom(TransformerModel model, int[] ids)
    {
        var logits = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.Last, SkipAttention = true }).Logits!.Data;
        int top = 0, bottom = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[top]) top = i;
            if (logits[i] < logits[bottom]) bottom = i;
        }
        return new(top, bottom);
    }
}
