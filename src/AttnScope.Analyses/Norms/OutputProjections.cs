using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Models;

namespace AttnScope.Analyses.Norms;

/// <summary>The attention output projection W_O of every layer of a BERT-family model, for norm-based attention.</summary>
internal static class OutputProjections
{
    /// <summary>
    /// W_O per layer ([hidden, hidden], rows = outputs) of the model <paramref name="model"/> (any name
    /// <c>attnscope capture --model</c> takes). Never downloads: a Hub model must already be in the cache.
    /// </summary>
    public static IReadOnlyList<float[]> ForBert(string model)
    {
        var files = ModelResolver.Resolve(model, new HubClient(offline: true));
        var config = ModelSession.LoadConfig(files, []);
        var weights = SourceFactory.ManagedWeights(files, config);
        var list = new List<float[]>(config.NumLayers);
        for (int l = 0; l < config.NumLayers; l++)
            list.Add(weights.Get($"encoder.layer.{l}.attention.output.dense.weight", config.HiddenSize, config.HiddenSize).Data);
        return list;
    }
}
