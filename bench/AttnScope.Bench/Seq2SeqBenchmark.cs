using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Bench;

/// <summary>
/// Pretrained translation decoding (greedy and beam search of <see cref="EncoderDecoderModel"/>) at the sizes of
/// t5-small and opus-mt-en-de, on random weights: the search on key/value caches against the same search re-reading
/// every prefix in full (what it did before, and what a capture's teacher-forced pass does), measured in the same run.
/// End-of-sentence and pad are banned so every run produces the same number of tokens.
/// <code>dotnet run --project bench/AttnScope.Bench -c Release -- seq2seq [--source 16,48] [--new 32] [--beams 1,4] [--runs 3] [--shapes t5-small,opus-mt]</code>
/// </summary>
internal static class Seq2SeqBenchmark
{
    public static int Run(string[] args)
    {
        int[] sources = [16, 48], beams = [1, 4];
        int newTokens = 32, runs = 3;
        string[] shapes = ["t5-small", "opus-mt"];
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--source": sources = Next().Split(',').Select(int.Parse).ToArray(); break;
                case "--new": newTokens = int.Parse(Next()); break;
                case "--beams": beams = Next().Split(',').Select(int.Parse).ToArray(); break;
                case "--runs": runs = int.Parse(Next()); break;
                case "--shapes": shapes = Next().Split(','); break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --source, --new, --beams, --runs, --shapes)");
            }
        }
        Console.WriteLine($"pretrained translation decoding, {newTokens} new tokens, median of {runs} runs; {Environment.ProcessorCount} cores");
        Console.WriteLine("| shape | source tokens | beam | cached (ms) | re-reading prefixes (ms) | speed-up |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var shape in shapes)
        {
            var model = Build(shape);
            var rng = new Random(3);
            foreach (int s in sources)
            {
                var source = Enumerable.Range(0, s).Select(_ => rng.Next(3, model.Encoder.Spec.Vocab)).Append(model.EosId!.Value).ToArray();
                int[] banned = [model.EosId!.Value, model.DecoderStartId];
                foreach (int beam in beams)
                {
                    var a = model.Beam(source, beam, 1.0, newTokens, banned);
                    var b = model.Beam(source, beam, 1.0, newTokens, banned, useCache: false);
                    if (!a.Best.Ids.SequenceEqual(b.Best.Ids)) throw new AttnScopeException("the cached and re-reading searches disagree");
                    double cached = Timing.Median(runs, () => model.Beam(source, beam, 1.0, newTokens, banned));
                    double reread = Timing.Median(runs, () => model.Beam(source, beam, 1.0, newTokens, banned, useCache: false));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {shape} | {s} | {beam} | {cached:F0} | {reread:F0} | {reread / cached:F1}× |"));
                }
            }
        }
        return 0;
    }

    /// <summary>An encoder-decoder of a named published shape with random weights (std 0.05; norms at 1).</summary>
    private static EncoderDecoderModel Build(string shape)
    {
        var rng = new Random(1);
        float[] R(int[] dims)
        {
            long n = dims.Aggregate(1L, (a, b) => a * b);
            var v = new float[n];
            bool gain = dims.Length == 1;
            for (long i = 0; i < n; i++) v[i] = gain ? 1f : (float)((rng.NextDouble() * 2 - 1) * 0.087); // uniform, std 0.05
            return v;
        }
        switch (shape)
        {
            case "t5-small":
            {
                var c = Config("""{"model_type": "t5", "d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6, "num_heads": 8, "vocab_size": 32128, "feed_forward_proj": "relu", "eos_token_id": 1, "pad_token_id": 0, "decoder_start_token_id": 0}""");
                var enc = T5Family.Stack(c, decoder: false);
                var dec = T5Family.Stack(c, decoder: true);
                var shared = R([enc.Vocab, enc.Hidden]);
                return new EncoderDecoderModel
                {
                    Encoder = new TransformerModel(enc, T5Family.Tensors(enc, "encoder", shared, (_, d) => R(d)), shape),
                    Decoder = new TransformerModel(dec, T5Family.Tensors(dec, "decoder", shared, (_, d) => R(d)), shape),
                    DecoderStartId = 0, EosId = 1,
                };
            }
            case "opus-mt":
            {
                var c = Config("""{"model_type": "marian", "d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8, "decoder_attention_heads": 8, "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "vocab_size": 58101, "max_position_embeddings": 512, "scale_embedding": true, "activation_function": "swish", "eos_token_id": 0, "pad_token_id": 58100, "decoder_start_token_id": 58100}""");
                var enc = MarianFamily.Stack(c, decoder: false);
                var dec = MarianFamily.Stack(c, decoder: true);
                var shared = R([enc.Vocab, enc.Hidden]);
                return new EncoderDecoderModel
                {
                    Encoder = new TransformerModel(enc, MarianFamily.Tensors(enc, "model.encoder", shared, (_, d) => R(d)), shape),
                    Decoder = new TransformerModel(dec, MarianFamily.Tensors(dec, "model.decoder", shared, (_, d) => R(d), new float[dec.Vocab]), shape),
                    DecoderStartId = 58100, EosId = 0,
                };
            }
            default: throw new AttnScopeException($"unknown shape '{shape}' (t5-small, opus-mt)");
        }
    }

    private static ConfigJson Config(string json) => ConfigJson.Parse(json, "bench config");
}
