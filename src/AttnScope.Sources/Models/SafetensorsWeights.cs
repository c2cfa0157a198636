using AttnScope.Capture.SafeTensors;

namespace AttnScope.Sources.Models;

/// <summary>Loads a Hugging Face model.safetensors (F32, F16 or BF16) into a <see cref="WeightStore"/> as float32.</summary>
public static class SafetensorsWeights
{
    public static WeightStore Load(string path)
    {
        var file = SafeTensorsFile.Open(path);
        var store = new WeightStore($"'{path}'");
        foreach (var entry in file.Entries.Values)
        {
            if (entry.DType is not ("F32" or "F16" or "BF16" or "F64")) continue; // e.g. int64 position_ids buffers
            var name = entry.Name;
            // Old BERT checkpoints name LayerNorm parameters gamma/beta.
            if (name.EndsWith("LayerNorm.gamma", StringComparison.Ordinal)) name = name[..^"gamma".Length] + "weight";
            else if (name.EndsWith("LayerNorm.beta", StringComparison.Ordinal)) name = name[..^"beta".Length] + "bias";
            store.Add(name, file.ReadFloat(entry.Name));
        }
        return store;
    }
}
