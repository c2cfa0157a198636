using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// A Marian (opus-mt) folder as a translator: config.json + model.safetensors through <see cref="MarianFamily"/>, and
/// source.spm / target.spm / vocab.json through <see cref="MarianTokenizer"/>, checked to agree (vocab.json's ids fit
/// the model's vocabulary; &lt;/s&gt; and &lt;pad&gt; are the model's eos and decoder start).
/// </summary>
internal sealed class MarianTranslator
{
    public required EncoderDecoderModel Model { get; init; }
    public required MarianTokenizer Tokenizer { get; init; }

    public static MarianTranslator Load(string dir)
    {
        var config = Path.Combine(dir, "config.json");
        var weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(config)) throw new AttnScopeException($"{dir}: no config.json");
        if (!File.Exists(weights)) throw new AttnScopeException($"{dir}: no model.safetensors (PyTorch .bin weights are not read)");
        var tok = MarianTokenizer.Load(dir);
        var model = MarianFamily.Load(config, SafetensorsWeights.Load(weights));
        int v = model.Decoder.Spec.Vocab;
        if (tok.VocabSize > v)
            throw new AttnScopeException($"{dir}: vocab.json has ids up to {tok.VocabSize - 1} but the model's vocab_size is {v}");
        if (model.EosId is int eos && eos != tok.EosId)
            throw new AttnScopeException($"{dir}: config.json's eos_token_id {eos} is not vocab.json's </s> ({tok.EosId})");
        if (model.DecoderStartId != tok.PadId)
            throw new AttnScopeException($"{dir}: config.json's decoder start {model.DecoderStartId} is not vocab.json's <pad> ({tok.PadId})");
        return new MarianTranslator { Model = model, Tokenizer = tok };
    }

    /// <summary>Greedy translation of one text: the target ids (without the start token) and their text.</summary>
    public (int[] Ids, string Text) TranslateGreedy(string text, int maxNew = 256)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("nothing to translate: the text is empty");
        var src = Tokenizer.EncodeSource(text).Ids;
        if (src.Length > Model.Encoder.Spec.MaxPositions)
            throw new AttnScopeException($"the source has {src.Length} tokens; the model reads at most {Model.Encoder.Spec.MaxPositions}");
        var ids = Model.Greedy(src, maxNew);
        return (ids, Tokenizer.Decode(ids));
    }
}
