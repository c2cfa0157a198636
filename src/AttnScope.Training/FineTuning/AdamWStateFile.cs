using System.Globalization;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Training.Optim;

namespace AttnScope.Training.FineTuning;

/// <summary>optimizer.safetensors of a fine-tuned Marian or T5 folder: the AdamW moments as <c>adam.m.NAME</c> /
/// <c>adam.v.NAME</c> (Hugging Face parameter names) and the update count in the metadata.</summary>
internal static class AdamWStateFile
{
    public const string FormatId = "attnscope.marian-optimizer/1";

    public static void Save(string path, AdamW optimizer)
    {
        var tensors = new List<(string, FloatTensor)>();
        for (int i = 0; i < optimizer.Parameters.Count; i++)
        {
            var p = optimizer.Parameters[i];
            tensors.Add(("adam.m." + p.Name, new FloatTensor(p.Shape, optimizer.M[i])));
            tensors.Add(("adam.v." + p.Name, new FloatTensor(p.Shape, optimizer.V[i])));
        }
        SafeTensorsFile.Write(path, tensors, new Dictionary<string, string>
        {
            ["format"] = FormatId,
            ["adam_steps"] = optimizer.Steps.ToString(CultureInfo.InvariantCulture),
        });
    }

    public static void Load(string path, AdamW optimizer)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"'{path}' does not exist: nothing to resume the optimizer from");
        using var file = SafeTensorsFile.Open(path);
        string Bad(string why) => $"'{path}' is not a usable optimizer state: {why}";
        if (!file.Metadata.TryGetValue("format", out var f) || f != FormatId) throw new AttnScopeException(Bad($"its metadata has no format {FormatId}"));
        for (int i = 0; i < optimizer.Parameters.Count; i++)
        {
            var p = optimizer.Parameters[i];
            foreach (var (prefix, into) in new[] { ("adam.m.", optimizer.M[i]), ("adam.v.", optimizer.V[i]) })
            {
                if (!file.Contains(prefix + p.Name)) throw new AttnScopeException(Bad($"tensor '{prefix + p.Name}' is missing"));
                var t = file.ReadFloat(prefix + p.Name);
                if (!t.Shape.SequenceEqual(p.Shape)) throw new AttnScopeException(Bad($"'{prefix + p.Name}' has shape {t.ShapeText}"));
                t.Data.CopyTo(into, 0);
            }
        }
        optimizer.Steps = file.Metadata.TryGetValue("adam_steps", out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n : throw new AttnScopeException(Bad("metadata 'adam_steps' is missing"));
    }
}
