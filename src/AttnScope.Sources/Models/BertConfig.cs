using System.Text.Json;
using AttnScope.Capture;

namespace AttnScope.Sources.Models;

/// <summary>Hyper-parameters of a BERT-family encoder (BERT, MiniLM, RoBERTa-style configs).</summary>
public sealed record BertConfig
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

    public void Validate()
    {
        if (HiddenSize <= 0 || NumHeads <= 0 || NumLayers <= 0 || IntermediateSize <= 0 || VocabSize <= 0)
            throw new AttnScopeException($"model config ({Origin}) is incomplete: hidden_size={HiddenSize}, num_attention_heads={NumHeads}, num_hidden_layers={NumLayers}, intermediate_size={IntermediateSize}, vocab_size={VocabSize}");
        if (HiddenSize % NumHeads != 0)
            throw new AttnScopeException($"model config ({Origin}): hidden_size {HiddenSize} is not divisible by num_attention_heads {NumHeads}");
        if (HiddenAct is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu"))
            throw new AttnScopeException($"model config ({Origin}): activation '{HiddenAct}' is not supported (gelu, gelu_new, relu)");
    }

    /// <summary>Parses a Hugging Face config.json of a BERT-family model.</summary>
    public static BertConfig FromJson(string json, string origin = "config.json")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new AttnScopeException($"{origin} is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) throw new AttnScopeException($"{origin} is not a JSON object");
            int I(string k, int d) => r.TryGetProperty(k, out var v) && v.TryGetInt32(out var x) ? x : d;
            string S(string k, string d) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : d;
            float F(string k, float d) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? (float)v.GetDouble() : d;
            var type = S("model_type", "bert");
            if (type is not ("bert" or "roberta" or "xlm-roberta" or "distilbert" or "electra" or "minilm"))
                throw new AttnScopeException($"{origin}: model_type '{type}' is not a BERT-family encoder this engine runs");
            var cfg = new BertConfig
            {
                ModelType = type,
                HiddenSize = I("hidden_size", 0),
                NumHeads = I("num_attention_heads", 0),
                NumLayers = I("num_hidden_layers", 0),
                IntermediateSize = I("intermediate_size", 0),
                VocabSize = I("vocab_size", 0),
                MaxPositions = I("max_position_embeddings", 512),
                TypeVocabSize = I("type_vocab_size", 2),
                LayerNormEps = F("layer_norm_eps", 1e-12f),
                HiddenAct = S("hidden_act", "gelu"),
                DoLowerCase = !r.TryGetProperty("do_lower_case", out var lc) || lc.ValueKind != JsonValueKind.False,
                Origin = origin,
            };
            cfg.Validate();
            return cfg;
        }
    }
}
