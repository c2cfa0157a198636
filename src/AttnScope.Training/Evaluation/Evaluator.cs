using System.Diagnostics;
using AttnScope.Training.Data;
using AttnScope.Training.Decoding;
using AttnScope.Training.Metrics;
using AttnScope.Training.Model;

namespace AttnScope.Training.Evaluation;

/// <summary>Held-out quality: corpus BLEU of the translations and, where the corpus has gold word alignments, the
/// alignment error rate of cross attention per decoder layer (heads averaged).</summary>
internal sealed record EvaluationReport(
    BleuScore Bleu, int Sentences, int Beam, IReadOnlyList<double> AerPerLayer, int AlignedSentences, double Seconds,
    IReadOnlyList<(string Source, string Reference, string Hypothesis)> Samples)
{
    /// <summary>Every translation, in the order of the test pairs (evaluate --output writes them).</summary>
    public IReadOnlyList<string> Hypotheses { get; init; } = [];

    public int BestLayer => AerPerLayer.Count == 0 ? -1 : AerPerLayer.Select((a, i) => (a, i)).MinBy(x => x.a).i;
    public double BestAer => AerPerLayer.Count == 0 ? double.NaN : AerPerLayer.Min();

    /// <summary>The scores as JSON (saved as evaluation.json in the run folder).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["bleu"] = Math.Round(Bleu.Score, 4),
        ["sentences"] = Sentences,
        ["beam"] = Beam,
        ["aer_per_layer"] = AerPerLayer.Select(a => Math.Round(a, 5)).ToArray(),
        ["best_layer"] = BestLayer,
        ["aligned_sentences"] = AlignedSentences,
    }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

    public IEnumerable<string> Lines()
    {
        yield return $"held-out BLEU {Bleu.Score:F2} on {Sentences} sentences ({(Beam <= 1 ? "greedy" : $"beam {Beam}")}; " +
                     $"precisions {string.Join("/", Bleu.Precisions.Select(p => p.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}, brevity penalty {Bleu.BrevityPenalty:F3})";
        if (AerPerLayer.Count == 0)
        {
            yield return "alignment error rate: the corpus has no gold word alignments";
            yield break;
        }
        yield return "cross-attention AER (heads averaged) per layer: " +
                     string.Join(", ", AerPerLayer.Select((a, i) => $"layer {i} {a:F3}")) +
                     $"; best layer {BestLayer}: {BestAer:F3} ({AlignedSentences} sentences)";
    }
}

internal static class Evaluator
{
    /// <summary>
    /// Translates every source of <paramref name="test"/> and scores it against the references; computes AER of
    /// cross attention by force-decoding each gold reference (the attention the model pays while producing it).
    /// Each target word is aligned by the attention of the steps that produce its pieces.
    /// </summary>
    /// <param name="open">With <paramref name="threads"/> above 1: makes one more translator per extra worker
    /// thread (see <see cref="BatchTranslation"/>); the translations are the same as on one thread.</param>
    public static EvaluationReport Evaluate(Translator translator, IReadOnlyList<ParallelPair> test, int beam = 1, int? limit = null,
        Action<int, int>? progress = null, int threads = 1, Func<Translator>? open = null)
    {
        var sw = Stopwatch.StartNew();
        var pairs = limit is { } n && n < test.Count ? test.Take(n).ToList() : test.ToList();
        var (translated, _) = BatchTranslation.Translate(pairs.Select(p => p.Source).ToList(), beam, open is null ? 1 : threads,
            open ?? (() => translator), translator, progress);
        var hyps = translated.ToList();
        var refs = pairs.Select(p => p.Target).ToList();
        var bleu = Bleu.Corpus(hyps, refs);
        var (aer, aligned) = AlignmentErrors(translator, pairs);
        var samples = pairs.Take(5).Select((p, i) => (p.Source, p.Target, hyps[i])).ToList();
        return new EvaluationReport(bleu, pairs.Count, beam, aer, aligned, sw.Elapsed.TotalSeconds, samples) { Hypotheses = hyps };
    }

    /// <summary>AER per decoder layer over the pairs that have gold alignments.</summary>
    public static (IReadOnlyList<double> PerLayer, int Sentences) AlignmentErrors(Translator translator, IReadOnlyList<ParallelPair> pairs)
    {
        var withGold = pairs.Where(p => p.Gold is { Count: > 0 }).ToList();
        if (withGold.Count == 0) return ([], 0);
        var model = translator.Model;
        int layers = model.Config.DecoderLayers, heads = model.Config.Heads;
        var predicted = Enumerable.Range(0, layers).Select(_ => new List<IReadOnlyList<WordAlignment>>()).ToArray();
        var gold = new List<IReadOnlyList<WordAlignment>>();
        const int Chunk = 32;
        for (int start = 0; start < withGold.Count; start += Chunk)
        {
            var part = withGold.Skip(start).Take(Chunk).ToList();
            var encoded = new List<EncodedPair>();
            var maps = new List<(int[] Src, int[] Tgt)>();
            foreach (var p in part)
            {
                var (src, srcIds, _) = translator.EncodeSource(p.Source);
                var tgt = translator.Vocabulary.Encode(p.Target);
                int maxTarget = model.Config.MaxLength - 1;
                var tgtIds = tgt.Ids.Length > maxTarget ? tgt.Ids[..maxTarget] : tgt.Ids;
                encoded.Add(new EncodedPair(srcIds, tgtIds));
                // keys: source pieces then EOS (ignored); rows: decoder inputs BOS, y1..yn — row t produced piece t+1
                int[] srcWords = [.. src.WordIndex, -1];
                var rowWords = new int[tgtIds.Length + 1];
                for (int r = 0; r < rowWords.Length; r++) rowWords[r] = r < tgtIds.Length ? tgt.WordIndex[r] : -1;
                maps.Add((srcWords, rowWords));
                gold.Add(p.Gold!);
            }
            var recorded = AttentionRecorder.RecordBatch(model, encoded);
            for (int i = 0; i < part.Count; i++)
            {
                var cross = recorded[i].Cross;
                int rows = cross.Shape[2], keys = cross.Shape[3];
                var mean = new float[rows * keys];
                for (int l = 0; l < layers; l++)
                {
                    Array.Clear(mean);
                    for (int h = 0; h < heads; h++)
                        System.Numerics.Tensors.TensorPrimitives.Add(mean, cross.Slice(l, h), mean);
                    System.Numerics.Tensors.TensorPrimitives.Multiply(mean, 1f / heads, mean);
                    predicted[l].Add(AttentionAligner.Align(mean, maps[i].Src, maps[i].Tgt));
                }
            }
        }
        return (predicted.Select(p => AlignmentErrorRate.Compute(p, gold)).ToList(), withGold.Count);
    }
}
