using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Transformer;

namespace AttnScope.Training.CausalLm;

/// <summary>
/// Checkpoints of a causal LM run: <c>checkpoints/step-NNNNNN.safetensors</c> holding every tensor under its
/// TransformerLens-like name (see <see cref="CausalLmParameters"/> for the layout) with the step in the metadata,
/// and one <c>config.json</c> with the model spec and the training options.
/// </summary>
internal static class CausalLmCheckpoint
{
    public const string FormatId = "attnscope.causal-lm/1";
    public const string ConfigFile = "config.json";
    public const string Folder = "checkpoints";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, Converters = { new JsonStringEnumConverter() }, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string PathFor(string runFolder, long step) =>
        Path.Combine(runFolder, Folder, $"step-{step.ToString("D6", CultureInfo.InvariantCulture)}.safetensors");

    /// <summary>Writes the tensors of <paramref name="parameters"/> as the checkpoint of <paramref name="step"/>; returns its path.</summary>
    public static string Save(string runFolder, CausalLmParameters parameters, long step, IReadOnlyDictionary<string, string>? extra = null)
    {
        var path = PathFor(runFolder, step);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var meta = new Dictionary<string, string>
        {
            ["format"] = FormatId,
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["layout"] = "PyTorch linear [out, in]: W_Q/W_K/W_V [heads*d_head, d_model], W_O [d_model, heads*d_head], W_U [vocab, d_model]",
        };
        if (extra is not null) foreach (var (k, v) in extra) meta[k] = v;
        SafeTensorsFile.Write(path, parameters.Named(), meta);
        return path;
    }

    /// <summary>Writes <c>config.json</c>: the core spec and the training settings.</summary>
    public static void SaveConfig(string runFolder, TransformerSpec spec, object training)
    {
        Directory.CreateDirectory(runFolder);
        var doc = new Dictionary<string, object> { ["format"] = FormatId, ["model"] = spec, ["training"] = training };
        AtomicFile.WriteAllBytes(Path.Combine(runFolder, ConfigFile), JsonSerializer.SerializeToUtf8Bytes(doc, doc.GetType(), Json));
    }

    /// <summary>Reads a checkpoint's tensors back into <paramref name="parameters"/> (same spec); errors name the tensor.</summary>
    public static long Load(string path, CausalLmParameters parameters)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"checkpoint '{path}' does not exist");
        using var file = SafeTensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("format", out var f) || f != FormatId)
            throw new AttnScopeException($"'{path}' is not a causal LM checkpoint (no format {FormatId} in its metadata)");
        foreach (var p in parameters.All)
        {
            if (!file.Contains(p.Name)) throw new AttnScopeException($"'{path}': tensor '{p.Name}' is missing");
            var t = file.ReadFloat(p.Name);
            if (!t.Shape.SequenceEqual(p.Shape))
                throw new AttnScopeException($"'{path}': tensor '{p.Name}' has shape {t.ShapeText}, the model needs [{string.Join(", ", p.Shape)}]");
            t.Data.AsSpan().CopyTo(p.Value);
            p.Touch();
        }
        return long.TryParse(file.Metadata.GetValueOrDefault("step"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var step) ? step : 0;
    }
}
