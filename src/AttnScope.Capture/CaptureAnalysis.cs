using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AttnScope.Capture;

/// <summary>
/// One analysis result kept with a capture: a float32 tensor and a JSON object describing how it was computed.
/// Saved as the tensor <c>analysis.{Name}</c> and an entry of the <c>analyses</c> metadata object. The capture
/// only checks the generic part (name, finite values, rank 1–4); AttnScope.Analyses gives each name its meaning
/// (see docs/analyses.md).
/// </summary>
public sealed partial class CaptureAnalysis
{
    /// <summary>The prefix of an analysis's tensor name in the file: <c>analysis.</c> + <see cref="Name"/>.</summary>
    public const string TensorPrefix = "analysis.";
    /// <summary>The metadata key of the JSON object that holds every analysis's <see cref="Info"/> by name.</summary>
    public const string MetadataKey = "analyses";

    /// <summary>Dot-separated lower-case name, e.g. <c>encoder.rollout</c>.</summary>
    public string Name { get; }
    /// <summary>The result, 1 to 4 dimensions of finite values.</summary>
    public FloatTensor Tensor { get; }
    /// <summary>Parameters and results that are not tensors (options, names, thresholds). Never null.</summary>
    public JsonObject Info { get; }

    /// <summary>An analysis result to keep with a capture.</summary>
    /// <param name="name">Dot-separated lower-case words, at most 100 characters.</param>
    /// <param name="tensor">The result, 1 to 4 dimensions of finite values.</param>
    /// <param name="info">How it was computed; empty when null.</param>
    /// <exception cref="AttnScopeException">An invalid name, rank or value.</exception>
    public CaptureAnalysis(string name, FloatTensor tensor, JsonObject? info = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (name is null || name.Length > 100 || !NamePattern().IsMatch(name))
            throw new AttnScopeException($"analysis name '{name}' is not valid (lower-case words separated by dots, at most 100 characters)");
        if (tensor.Rank is < 1 or > 4)
            throw new AttnScopeException($"analysis '{name}' has shape {tensor.ShapeText}; analyses have 1 to 4 dimensions");
        foreach (var v in tensor.Data)
            if (!float.IsFinite(v)) throw new AttnScopeException($"analysis '{name}' holds {v}, not a finite number");
        Name = name;
        Tensor = tensor;
        Info = info ?? [];
    }

    [GeneratedRegex("^[a-z0-9_]+(\\.[a-z0-9_]+)*$")]
    private static partial Regex NamePattern();
}
