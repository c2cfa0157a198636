using System.Text.Json.Nodes;
using AttnScope.Tests.Core;

namespace AttnScope.Tests.Long;

/// <summary>
/// A long-context copy of the tiny Llama golden (rotary positions, 2 layers × 4 heads, random weights): the same
/// files with max_position_embeddings raised, so a few thousand tokens run. And a seeded text of many words.
/// </summary>
internal static class LongModel
{
    /// <summary>Copies tiny-llama into <paramref name="dir"/> with <paramref name="positions"/> positions; returns the folder.</summary>
    public static string Write(string dir, int positions)
    {
        var src = DecoderGoldenTests.Folder("tiny-llama");
        var dst = Path.Combine(dir, "long-llama");
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dst, "config.json")))!.AsObject();
        cfg["max_position_embeddings"] = positions;
        File.WriteAllText(Path.Combine(dst, "config.json"), cfg.ToJsonString());
        return dst;
    }

    /// <summary>Seeded words, separated by spaces and an occasional full stop.</summary>
    public static string Text(int words, int seed = 3)
    {
        string[] pool = ["the", "cat", "sat", "on", "a", "mat", "long", "river", "ran", "past", "old", "mill", "and", "we", "saw", "it"];
        var rng = new Random(seed);
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < words; i++)
        {
            if (i > 0) sb.Append(rng.Next(12) == 0 ? ". " : " ");
            sb.Append(pool[rng.Next(pool.Length)]);
        }
        return sb.ToString();
    }
}
