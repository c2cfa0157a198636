using System.Text.Json;
using AttnScope.Capture;

namespace AttnScope.Sources.Models;

/// <summary>Hyper-parameters of a BERT-family encoder (BERT, MiniLM, RoBERTa-style configs).</summary>
internal sealed record BertConfig
{
    public string ModelType { get; init; } = "bert";
    public int HiddenSize { get; init; }
    public int NumHeads { get; init; }
    public int NumLayers { get; init; }
    public int IntermediateSize { get; init; }
    public int VocabSize { get; init; }
    public int MaxPositions { get; init; } = 512;
    public int TypeVocabSize { get; init; } = 2;
    public float LayerNormEps { get; init; } = 1e-12f;
    public string HiddenAct { get; init; } = "gelu";
    /// <summary>Lower-case (and strip accents) before WordPiece; from tokenizer_config.json when present.</summary>
    public bool DoLowerCase { get; init; } = true;
    /// <summary>Where these numbers came from: "config.json" or "inferred from the ONNX graph".</summary>
    public string Origin { get; init; } = "config.json";

    public int HeadDim => HiddenSize / NumHeads;

    /// <summary>Largest hidden_size read from a config (docs/limits.md).</summary>
    public const int MaxHiddenSize = 65_536;
    /// <summary>Largest intermediate_size.</summary>
    public const int MaxIntermediateSize = 262_144;
    /// <summary>Largest vocab_size (and largest tokenizer vocabulary).</summary>
    public const int MaxVocabSize = 1_000_000;
    /// <summary>Largest max_position_embeddings.</summary>
    public const int MaxPositionLimit = 1_048_576;
    /// <summary>Largest type_vocab_size.</summary>
    public const int MaxTypeVocabSize = 1024;

    /// <summary>
    /// Checks every size before anything is allocated: positive, consistent, within the limits of docs/limits.md
    /// (layers and heads as captures allow), a supported activation, and a finite, non-negative layer_norm_eps.
    /// </summary>
    public void Validate()
    {
        if (HiddenSize <= 0 || NumHeads <= 0 || NumLayers <= 0 || IntermediateSize <= 0 || VocabSize <= 0)
            throw new AttnScopeException($"model config ({Origin}) is incomplete: hidden_size={HiddenSize}, num_attention_heads={NumHeads}, num_hidden_layers={NumLayers}, intermediate_size={IntermediateSize}, vocab_size={VocabSize}");
        void Limit(string key, long value, long max)
        {
            if (value > max) throw new AttnScopeException($"model config ({Origin}): {key} {value} is more than the {max} AttnScope supports");
        }
        Limit("hidden_size", HiddenSize, MaxHiddenSize);
        Limit("num_attention_heads", NumHeads, CaptureLimits.MaxHeads);
        Limit("num_hidden_layers", NumLayers, CaptureLimits.MaxLayers);
        Limit("num_hidden_layers × num_attention_heads", (long)NumLayers * NumHeads, CaptureLimits.MaxLayerHeads);
        Limit("intermediate_size", IntermediateSize, MaxIntermediateSize);
        Limit("vocab_size", VocabSize, MaxVocabSize);
        Limit("max_position_embeddings", MaxPositions, MaxPositionLimit);
        Limit("type_vocab_size", TypeVocabSize, MaxTypeVocabSize);
        if (HiddenSize % NumHeads != 0)
            throw new AttnScopeException($"model config ({Origin}): hidden_size {HiddenSize} is not divisible by num_attention_heads {NumHeads}");
        if (HiddenAct is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu"))
            throw new AttnScopeException($"model config ({Origin}): activation '{HiddenAct}' is not supported (gelu, gelu_new, relu)");
        if (!float.IsFinite(LayerNormEps) || LayerNormEps < 0)
            throw new AttnScopeException($"model config ({Origin}): layer_norm_eps {LayerNormEps} must be a finite number, zero or more");
    }

    /// <summary>Parses a Hugging Face config.json of a BERT-family model (strictly: see <see cref="Transformer.Families.ConfigJson"/>).</summary>
    public static BertConfig FromJson(string json, string origin = "config.json")
    {
        var c = Transformer.Families.ConfigJson.Parse(json, origin);
        var type = c.String("model_type") ?? "bert";
        if (type is not ("bert" or "roberta" or "xlm-roberta" or "distilbert" or "electra" or "minilm"))
            throw new AttnScopeException($"{origin}: model_type '{type}' is not a BERT-family encoder this engine runs");
        var cfg = new BertConfig
        {
            ModelType = type,
            HiddenSize = c.Int("hidden_size", 0),
            NumHeads = c.Int("num_attention_heads", 0),
            NumLayers = c.Int("num_hidden_layers", 0),
            IntermediateSize = c.Int("intermediate_size", 0),
            VocabSize = c.Int("vocab_size", 0),
            MaxPositions = c.Int("max_position_embeddings", 512),
            TypeVocabSize = c.Int("type_vocab_size", 2),
            LayerNormEps = c.Float("layer_norm_eps", 1e-12f),
            HiddenAct = c.String("hidden_act") ?? "gelu",
            DoLowerCase = c.Bool("do_lower_case", true),
            Origin = origin,
        };
        cfg.Validate();
        return cfg;
    }

    /// <summary>How a JSON value that has the wrong type is named in a message (its kind and, when short, its text).</summary>
    internal static string Describe(JsonElement v)
    {
        var kind = v.ValueKind switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Array => "an array",
            JsonValueKind.Object => "an object",
            _ => "null",
        };
        var text = v.GetRawText();
        return text.Length <= 40 ? $"{kind} ({text})" : kind;
    }
}
