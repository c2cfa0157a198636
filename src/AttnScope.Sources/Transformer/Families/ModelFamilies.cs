using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>The families the core runs, found by a config's <c>model_type</c>.</summary>
internal static class ModelFamilies
{
    public static IReadOnlyList<IModelFamily> Decoders { get; } = [new Gpt2Family(), new LlamaFamily()];

    /// <summary>Whether a config's model_type names a decoder family.</summary>
    public static bool IsDecoder(string? modelType) => modelType is not null && Decoders.Any(f => f.ModelTypes.Contains(modelType));

    /// <summary>model_type of a config.json, or null.</summary>
    public static string? ModelType(string configPath)
    {
        var c = ConfigJson.Parse(ReadConfigText(configPath), configPath);
        return c.String("model_type");
    }

    internal static string ReadConfigText(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > 4 << 20) throw new AttnScopeException($"{path} is {info.Length:N0} bytes; a config.json is at most 4 MiB");
        return File.ReadAllText(path);
    }

    /// <summary>The family and spec of a decoder config.json.</summary>
    public static (IModelFamily Family, TransformerSpec Spec) ReadDecoder(string configPath)
    {
        var c = ConfigJson.Parse(ReadConfigText(configPath), configPath);
        string type = c.String("model_type") ?? throw new AttnScopeException($"{configPath} has no model_type");
        var family = Decoders.FirstOrDefault(f => f.ModelTypes.Contains(type))
            ?? throw new AttnScopeException($"{configPath}: model_type '{type}' is not a decoder family AttnScope runs ({string.Join(", ", Decoders.SelectMany(f => f.ModelTypes))})");
        var spec = family.ReadConfig(c);
        spec.Validate(configPath);
        return (family, spec);
    }

    /// <summary>Reads the config and weights of a decoder and builds the core over them.</summary>
    public static TransformerModel LoadDecoder(string configPath, WeightStore weights)
    {
        var (family, spec) = ReadDecoder(configPath);
        return new TransformerModel(spec, family.MapWeights(spec, weights), weights.Origin);
    }
}
