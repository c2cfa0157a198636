using System.Text.Json;
using System.Text.RegularExpressions;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;

namespace AttnScope.Sources.Models;

/// <summary>
/// Loads a Hugging Face model.safetensors (F32, F16 or BF16) into a <see cref="WeightStore"/> as float32, or a
/// sharded checkpoint through its model.safetensors.index.json.
/// </summary>
internal static partial class SafetensorsWeights
{
    public static WeightStore Load(string path)
    {
        var store = new WeightStore($"'{path}'");
        AddFile(store, path, null);
        return store;
    }

    /// <summary>The weights of a model folder: model.safetensors, or the shards its index names.</summary>
    public static WeightStore Load(ModelFiles files)
    {
        if (files.SafetensorsPath is not null) return Load(files.SafetensorsPath);
        if (files.SafetensorsIndexPath is not null) return LoadSharded(files.SafetensorsIndexPath);
        throw new AttnScopeException($"model '{files.Id}' has no model.safetensors or model.safetensors.index.json");
    }

    private static void AddFile(WeightStore store, string path, ISet<string>? only)
    {
        using var file = SafeTensorsFile.Open(path);
        foreach (var entry in file.Entries.Values)
        {
            if (entry.DType is not ("F32" or "F16" or "BF16" or "F64")) continue; // e.g. int64 position_ids buffers
            if (only is not null && !only.Contains(entry.Name)) continue;
            var name = entry.Name;
            // Old BERT checkpoints name LayerNorm parameters gamma/beta.
            if (name.EndsWith("LayerNorm.gamma", StringComparison.Ordinal)) name = name[..^"gamma".Length] + "weight";
            else if (name.EndsWith("LayerNorm.beta", StringComparison.Ordinal)) name = name[..^"beta".Length] + "bias";
            store.Add(name, file.ReadFloat(entry.Name));
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.safetensors$")]
    private static partial Regex ShardName();

    /// <summary>The tensor → shard map of an index file; shard names must be plain file names beside it.</summary>
    private static Dictionary<string, string> WeightMap(string indexPath)
    {
        var info = new FileInfo(indexPath);
        if (info.Length > 64 << 20) throw new AttnScopeException($"{indexPath} is {info.Length:N0} bytes; an index is at most 64 MiB");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new AttnScopeException($"{indexPath} has no 'weight_map' object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new AttnScopeException($"{indexPath}: the shard of '{TokenText.Printable(p.Name)}' is not a file name");
                var file = p.Value.GetString()!;
                if (!ShardName().IsMatch(file)) throw new AttnScopeException($"{indexPath}: shard '{TokenText.Printable(file)}' is not a plain .safetensors file name");
                if (!result.TryAdd(p.Name, file)) throw new AttnScopeException($"{indexPath}: '{TokenText.Printable(p.Name)}' is mapped twice");
            }
            if (result.Count == 0) throw new AttnScopeException($"{indexPath}: the weight map is empty");
            return result;
        }
        catch (JsonException e) { throw new AttnScopeException($"{indexPath} is not valid JSON: {e.Message}"); }
    }

    /// <summary>The shard file names an index refers to, each once.</summary>
    public static IReadOnlyList<string> ShardFiles(string indexPath) => WeightMap(indexPath).Values.Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Loads every shard an index names, each tensor from the shard the index maps it to.</summary>
    public static WeightStore LoadSharded(string indexPath)
    {
        var map = WeightMap(indexPath);
        var dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var store = new WeightStore($"'{indexPath}'");
        foreach (var group in map.GroupBy(kv => kv.Value))
        {
            var path = Path.Combine(dir, group.Key);
            if (!File.Exists(path)) throw new AttnScopeException($"{indexPath} names shard '{group.Key}', which is not in '{dir}'");
            AddFile(store, path, group.Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal));
        }
        return store;
    }
}
