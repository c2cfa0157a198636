using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Training.Training;

/// <summary>Train and held-out pairs of a corpus named on the command line, with what reading it reported.</summary>
public sealed record LoadedCorpus(IReadOnlyList<ParallelPair> Train, IReadOnlyList<ParallelPair> Test, IReadOnlyList<string> Notes);

public static class CorpusLoader
{
    public const string Builtin = "builtin";

    /// <summary>
    /// "builtin": the generated English→German corpus with its held-out set. A path: a corpus file (or file
    /// pair prefix) whose last 2% (at most 1000 pairs) are held out.
    /// </summary>
    public static LoadedCorpus Load(string corpus, string sourceLanguage, string targetLanguage, TrainingOptions options)
    {
        if (corpus.Equals(Builtin, StringComparison.OrdinalIgnoreCase))
        {
            var (train, test) = BuiltinCorpus.Generate(BuiltinCorpus.DefaultSeed, options.BuiltinTrainPairs, options.BuiltinTestPairs);
            return new LoadedCorpus(train, test, [$"built-in corpus: {train.Count} training pairs, {test.Count} held out"]);
        }
        var read = ParallelCorpusReader.Read(corpus, sourceLanguage, targetLanguage);
        var notes = new List<string> { ReportLine(corpus, read.Report) };
        notes.AddRange(read.Report.Notes);
        var pairs = read.Pairs;
        if (pairs.Count < 2) throw new AttnScopeException($"corpus '{corpus}' has {pairs.Count} usable pairs; training needs at least 2");
        int held = Math.Clamp(pairs.Count / 50, 1, 1000);
        return new LoadedCorpus(pairs.Take(pairs.Count - held).ToList(), pairs.Skip(pairs.Count - held).ToList(), notes);
    }

    /// <summary>Reads a whole corpus as a test set (evaluate --corpus PATH).</summary>
    public static LoadedCorpus LoadTest(string corpus, string sourceLanguage, string targetLanguage, TrainingOptions options)
    {
        if (corpus.Equals(Builtin, StringComparison.OrdinalIgnoreCase)) return Load(corpus, sourceLanguage, targetLanguage, options);
        var read = ParallelCorpusReader.Read(corpus, sourceLanguage, targetLanguage);
        if (read.Pairs.Count == 0) throw new AttnScopeException($"corpus '{corpus}' has no usable pairs");
        return new LoadedCorpus([], read.Pairs, [ReportLine(corpus, read.Report), .. read.Report.Notes]);
    }

    private static string ReportLine(string corpus, CorpusReadReport r) =>
        $"read '{corpus}': {r.Kept} pairs kept" + (r.Skipped.Count == 0 ? "" : ", skipped " + string.Join(", ", r.Skipped.Select(kv => $"{kv.Value} {kv.Key}")));

    /// <summary>Encodes pairs for training: source pieces + EOS, target pieces; pairs longer than the limits are left out.</summary>
    public static (List<EncodedPair> Pairs, int Skipped) Encode(SubwordVocabulary vocab, IReadOnlyList<ParallelPair> pairs, int maxPieces, int maxLength)
    {
        var list = new List<EncodedPair>(pairs.Count);
        int skipped = 0, limit = Math.Min(maxPieces, maxLength - 1);
        foreach (var p in pairs)
        {
            var s = vocab.Encode(p.Source).Ids;
            var t = vocab.Encode(p.Target).Ids;
            if (s.Length == 0 || t.Length == 0 || s.Length > limit || t.Length > limit) { skipped++; continue; }
            list.Add(new EncodedPair([.. s, SubwordVocabulary.EosId], t));
        }
        return (list, skipped);
    }
}
