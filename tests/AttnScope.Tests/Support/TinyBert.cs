using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;

namespace AttnScope.Tests.Support;

/// <summary>
/// A tiny random BERT written as a Hugging Face folder (config.json, model.safetensors with <c>bert.</c>-prefixed
/// names, vocab.txt), for tests of loading, downloading and the engine.
/// </summary>
public static class TinyBert
{
    public const int Hidden = 16, Heads = 4, Layers = 2, Intermediate = 32, MaxPos = 40;

    public static readonly string[] Vocab =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", "dog", "it", "slept",
        "un", "##aff", "##able", "a", "b", "c", "##s", ",", "!", "big", "small",
    ];

    public static string ConfigJson => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["model_type"] = "bert", ["hidden_size"] = Hidden, ["num_attention_heads"] = Heads, ["num_hidden_layers"] = Layers,
        ["intermediate_size"] = Intermediate, ["vocab_size"] = Vocab.Length, ["max_position_embeddings"] = MaxPos,
        ["type_vocab_size"] = 2, ["layer_norm_eps"] = 1e-12, ["hidden_act"] = "gelu",
    });

    public static List<(string, FloatTensor)> Weights(int seed)
    {
        var list = new List<(string, FloatTensor)>();
        var rng = new Random(seed);
        FloatTensor R(params int[] shape)
        {
            var t = new FloatTensor(shape);
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] = (float)((rng.NextDouble() * 2 - 1) * 0.5);
            return t;
        }
        FloatTensor Ones(int n) { var t = new FloatTensor([n]); for (int i = 0; i < n; i++) t.Data[i] = 1f + (float)(rng.NextDouble() * 0.2 - 0.1); return t; }
        void Add(string n, FloatTensor t) => list.Add(("bert." + n, t));
        Add("embeddings.word_embeddings.weight", R(Vocab.Length, Hidden));
        Add("embeddings.position_embeddings.weight", R(MaxPos, Hidden));
        Add("embeddings.token_type_embeddings.weight", R(2, Hidden));
        Add("embeddings.LayerNorm.weight", Ones(Hidden));
        Add("embeddings.LayerNorm.bias", R(Hidden));
        for (int l = 0; l < Layers; l++)
        {
            var p = $"encoder.layer.{l}.";
            foreach (var q in new[] { "query", "key", "value" })
            {
                Add(p + $"attention.self.{q}.weight", R(Hidden, Hidden));
                Add(p + $"attention.self.{q}.bias", R(Hidden));
            }
            Add(p + "attention.output.dense.weight", R(Hidden, Hidden));
            Add(p + "attention.output.dense.bias", R(Hidden));
            Add(p + "attention.output.LayerNorm.weight", Ones(Hidden));
            Add(p + "attention.output.LayerNorm.bias", R(Hidden));
            Add(p + "intermediate.dense.weight", R(Intermediate, Hidden));
            Add(p + "intermediate.dense.bias", R(Intermediate));
            Add(p + "output.dense.weight", R(Hidden, Intermediate));
            Add(p + "output.dense.bias", R(Hidden));
            Add(p + "output.LayerNorm.weight", Ones(Hidden));
            Add(p + "output.LayerNorm.bias", R(Hidden));
        }
        return list;
    }

    public static Dictionary<string, byte[]> Files(int seed = 7) => new()
    {
        ["config.json"] = System.Text.Encoding.UTF8.GetBytes(ConfigJson),
        ["model.safetensors"] = SafeTensorsFile.Serialize(Weights(seed), new Dictionary<string, string> { ["format"] = "pt" }),
        ["vocab.txt"] = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", Vocab) + "\n"),
    };

    public static string WriteFolder(string dir, int seed = 7)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in Files(seed)) File.WriteAllBytes(Path.Combine(dir, name), bytes);
        return dir;
    }
}
