using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AttnScope.Capture.Io;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.Data;
using AttnScope.Training.Metrics;

namespace AttnScope.Training.FineTuning;

/// <summary>Held-out BLEU of a pretrained translator (Marian, T5) (the corpus BLEU of <see cref="Bleu"/>), its translations and timing.</summary>
internal sealed record TranslatorEvaluationReport(BleuScore Bleu, int Sentences, int Beam, double Seconds, IReadOnlyList<string> Hypotheses)
{
    public const string FileName = "evaluation.json";

    public string Line() =>
        $"held-out BLEU {Bleu.Score.ToString("F2", CultureInfo.InvariantCulture)} on {Sentences} sentences ({(Beam <= 1 ? "greedy" : $"beam {Beam}")}; " +
        $"precisions {string.Join("/", Bleu.Precisions.Select(p => p.ToString("F1", CultureInfo.InvariantCulture)))}, brevity penalty {Bleu.BrevityPenalty.ToString("F3", CultureInfo.InvariantCulture)}; {Seconds:F1} s)";

    public void Save(string folder) => AtomicFile.WriteAllBytes(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["bleu"] = Math.Round(Bleu.Score, 4),
        ["sentences"] = Sentences,
        ["beam"] = Beam,
    }, new JsonSerializerOptions { WriteIndented = true }));
}

internal static class TranslatorEvaluation
{
    /// <summary>Translates the sources of <paramref name="test"/> (the first <paramref name="limit"/>) and scores them
    /// against the references, each source after <paramref name="prefix"/> (T5's task prefix); a source longer than the
    /// encoder reads is translated as an empty line.</summary>
    public static TranslatorEvaluationReport Evaluate(Seq2SeqTranslator translator, IReadOnlyList<ParallelPair> test, int beam = 1, int? limit = null, string prefix = "")
    {
        var sw = Stopwatch.StartNew();
        var pairs = limit is { } n && n < test.Count ? test.Take(n).ToList() : test.ToList();
        var hyps = new List<string>(pairs.Count);
        foreach (var p in pairs)
        {
            var src = translator.Tokenizer.EncodeSource(prefix + p.Source);
            hyps.Add(string.IsNullOrWhiteSpace(p.Source) || src.Ids.Length > translator.Model.Encoder.Spec.MaxPositions
                ? "" : translator.Translate(prefix + p.Source, src.Ids, src.Pieces, beam).Text);
        }
        var bleu = Bleu.Corpus(hyps, pairs.Select(p => p.Target).ToList());
        return new TranslatorEvaluationReport(bleu, pairs.Count, beam, sw.Elapsed.TotalSeconds, hyps);
    }
}
