using AttnScope.Capture;

namespace AttnScope.Bench;

/// <summary>
/// The decoder benchmark's two model shapes, written as Hugging Face model folders (config.json +
/// model.safetensors) with random weights: values do not change the speed, only the shape does.
/// </summary>
public sealed record DecoderShape(string Name, string Family, string Description, int Layers, int Hidden, int Heads, int KvHeads,
    int Intermediate, int Vocab)
{
    public int HeadDim => Hidden / Heads;

    /// <summary>GPT-2 small (124M): 12 layers, 12 heads, hidden 768, vocabulary 50257, tied head.</summary>
    public static DecoderShape Gpt2Small { get; } = new("gpt2-small", "gpt2", "GPT-2 small shape (12 layers, 12 heads, hidden 768, MLP 3072, vocab 50257, tied head)",
        12, 768, 12, 12, 3072, 50257);

    /// <summary>SmolLM-135M's shape, a Llama: 30 layers, 9 query and 3 key/value heads of 64, SwiGLU 1536, vocab 49152, tied.</summary>
    public static DecoderShape Llama { get; } = new("llama", "llama", "Llama shape of SmolLM-135M (30 layers, hidden 576, 9 heads / 3 KV heads of 64, SwiGLU 1536, vocab 49152, tied head, RMSNorm eps 1e-5, rope_theta 10000)",
        30, 576, 9, 3, 1536, 49152);

    /// <summary>Tiny GPT-2 and Llama shapes (2 layers, hidden 64) for a quick check that both sides agree.</summary>
    public static DecoderShape Gpt2Tiny { get; } = new("gpt2-tiny", "gpt2", "tiny GPT-2 shape for checks (2 layers, 4 heads, hidden 64, vocab 1000)", 2, 64, 4, 4, 256, 1000);

    /// <inheritdoc cref="Gpt2Tiny"/>
    public static DecoderShape LlamaTiny { get; } = new("llama-tiny", "llama", "tiny Llama shape for checks (2 layers, 4 heads / 2 KV heads of 16, SwiGLU 128, vocab 1000)", 2, 64, 4, 2, 128, 1000);

    public static DecoderShape Parse(string name) => name switch
    {
        "gpt2-small" or "gpt2" => Gpt2Small,
        "llama" or "smollm-135m" => Llama,
        "gpt2-tiny" => Gpt2Tiny,
        "llama-tiny" => LlamaTiny,
        _ => throw new AttnScopeException($"unknown shape '{name}' (expected gpt2-small, llama, gpt2-tiny or llama-tiny)"),
    };

    /// <summary>The config.json for a model taking <paramref name="positions"/> positions.</summary>
    public string ConfigJson(int positions) => Family == "gpt2"
        ? $$"""
          {"model_type": "gpt2", "n_layer": {{Layers}}, "n_head": {{Heads}}, "n_embd": {{Hidden}}, "n_inner": {{Intermediate}},
           "vocab_size": {{Vocab}}, "n_positions": {{positions}}, "n_ctx": {{positions}}, "layer_norm_epsilon": 1e-05,
           "activation_function": "gelu_new", "tie_word_embeddings": true, "bos_token_id": 50256, "eos_token_id": 50256}
          """
        : $$"""
          {"model_type": "llama", "num_hidden_layers": {{Layers}}, "hidden_size": {{Hidden}}, "num_attention_heads": {{Heads}},
           "num_key_value_heads": {{KvHeads}}, "intermediate_size": {{Intermediate}}, "vocab_size": {{Vocab}},
           "max_position_embeddings": {{positions}}, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "silu",
           "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2}
          """;

    /// <summary>Every tensor of the checkpoint with its Hugging Face name and shape (PyTorch layout; GPT-2's Conv1D [in, out]).</summary>
    public IEnumerable<(string Name, int[] Shape, WeightKind Kind)> Tensors(int positions)
    {
        int d = Hidden, inter = Intermediate;
        if (Family == "gpt2")
        {
            yield return ("wte.weight", [Vocab, d], WeightKind.Matrix);
            yield return ("wpe.weight", [positions, d], WeightKind.Matrix);
            for (int l = 0; l < Layers; l++)
            {
                string p = $"h.{l}.";
                yield return (p + "ln_1.weight", [d], WeightKind.Gain);
                yield return (p + "ln_1.bias", [d], WeightKind.Bias);
                yield return (p + "attn.c_attn.weight", [d, 3 * d], WeightKind.Matrix);
                yield return (p + "attn.c_attn.bias", [3 * d], WeightKind.Bias);
                yield return (p + "attn.c_proj.weight", [d, d], WeightKind.Matrix);
                yield return (p + "attn.c_proj.bias", [d], WeightKind.Bias);
                yield return (p + "ln_2.weight", [d], WeightKind.Gain);
                yield return (p + "ln_2.bias", [d], WeightKind.Bias);
                yield return (p + "mlp.c_fc.weight", [d, inter], WeightKind.Matrix);
                yield return (p + "mlp.c_fc.bias", [inter], WeightKind.Bias);
                yield return (p + "mlp.c_proj.weight", [inter, d], WeightKind.Matrix);
                yield return (p + "mlp.c_proj.bias", [d], WeightKind.Bias);
            }
            yield return ("ln_f.weight", [d], WeightKind.Gain);
            yield return ("ln_f.bias", [d], WeightKind.Bias);
            yield break;
        }
        int q = Heads * HeadDim, kv = KvHeads * HeadDim;
        yield return ("model.embed_tokens.weight", [Vocab, d], WeightKind.Matrix);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            yield return (p + "input_layernorm.weight", [d], WeightKind.Gain);
            yield return (p + "self_attn.q_proj.weight", [q, d], WeightKind.Matrix);
            yield return (p + "self_attn.k_proj.weight", [kv, d], WeightKind.Matrix);
            yield return (p + "self_attn.v_proj.weight", [kv, d], WeightKind.Matrix);
            yield return (p + "self_attn.o_proj.weight", [d, q], WeightKind.Matrix);
            yield return (p + "post_attention_layernorm.weight", [d], WeightKind.Gain);
            yield return (p + "mlp.gate_proj.weight", [inter, d], WeightKind.Matrix);
            yield return (p + "mlp.up_proj.weight", [inter, d], WeightKind.Matrix);
            yield return (p + "mlp.down_proj.weight", [d, inter], WeightKind.Matrix);
        }
        yield return ("model.norm.weight", [d], WeightKind.Gain);
    }

    /// <summary>
    /// Random weights, the same for the same name every time: matrices uniform with standard deviation 0.02 (GPT-2's
    /// initialisation), norm gains 1 ± 0.1, biases ± 0.02.
    /// </summary>
    public Dictionary<string, FloatTensor> RandomWeights(int positions)
    {
        var result = new Dictionary<string, FloatTensor>(StringComparer.Ordinal);
        foreach (var (name, shape, kind) in Tensors(positions))
        {
            var t = new FloatTensor(shape);
            ulong state = 0x9E3779B97F4A7C15UL;
            foreach (char c in name) state = (state ^ c) * 0x100000001B3UL;
            float centre = kind == WeightKind.Gain ? 1f : 0f;
            float half = kind switch { WeightKind.Matrix => 0.02f * MathF.Sqrt(3f), WeightKind.Gain => 0.1f, _ => 0.02f };
            var data = t.Data;
            for (int i = 0; i < data.Length; i++)
            {
                // SplitMix64: fast and reproducible.
                ulong z = state += 0x9E3779B97F4A7C15UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                z ^= z >> 31;
                data[i] = centre + half * ((z >> 40) * (2f / (1 << 24)) - 1f);
            }
            result[name] = t;
        }
        return result;
    }

    /// <summary>Parameter count (the tied head counted once).</summary>
    public long Parameters(int positions) => Tensors(positions).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    public override string ToString() => Name;
}

/// <summary>What a random tensor stands for, which sets its scale.</summary>
public enum WeightKind { Matrix, Gain, Bias }
