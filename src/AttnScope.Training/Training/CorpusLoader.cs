using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Training.Training;

/// <summary>Train and held-out pairs of a corpus named on the command line, with what reading it reported and one
/// line saying how many pairs were held out and how they were chosen.</summary>
internal sealed record LoadedCorpus(IReadOnlyList<ParallelPair> Train, IReadOnlyList<ParallelPair> Test, IReadOnlyList<string> Notes)
{
    /// <summary>E.g. "held out 1,000 of 48,000 pairs, drawn at random with seed 1 (not the last lines)".</summary>
    public string HeldOut { get; init; } = "";
    /// <summary>Warnings from reading (e.g. columns that look swapped); print them where they are seen.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

internal static class CorpusLoader
{
    public const string Builtin = "builtin";

    /// <summary>
    /// "builtin": the generated English→German corpus with its held-out set. A path: a corpus streamed through the
    /// filters of <paramref name="data"/>; 2 % of the kept pairs (at least 1, at most <see cref="DataOptions.HeldOutMax"/>)
    /// are held out, drawn at random with <see cref="DataOptions.HeldOutSeed"/>, or the held-out set is
    /// <see cref="DataOptions.Valid"/>. <paramref name="data"/> null: a run made before data options existed, read as
    /// it was then (no deduplication, the last lines held out).
    /// </summary>
    public static LoadedCorpus Load(string corpus, string sourceLanguage, string targetLanguage, TrainingOptions options, DataOptions? data = null)
    {
        if (corpus.Equals(Builtin, StringComparison.OrdinalIgnoreCase))
        {
            var (train, test) = BuiltinCorpus.Generate(BuiltinCorpus.DefaultSeed, options.BuiltinTrainPairs, options.BuiltinTestPairs);
            var line = $"built-in corpus: {train.Count} training pairs, {test.Count} held out (generated separately)";
            if (data?.HeldOut == DataOptions.ValidFile)
            {
                var valid = LoadTest(data.Valid!, sourceLanguage, targetLanguage, options, data);
                return new LoadedCorpus(train, valid.Test, [line, .. valid.Notes]) { HeldOut = valid.HeldOut, Warnings = valid.Warnings };
            }
            return new LoadedCorpus(train, test, [line]) { HeldOut = $"held out {test.Count:N0} generated pairs (the built-in test set)" };
        }
        data?.Validate();
        var filter = data?.Filter ?? new CorpusFilterOptions { MaxChars = int.MaxValue, MaxRatio = 0, Dedupe = false };
        var stream = ParallelCorpusReader.Open(corpus, sourceLanguage, targetLanguage, filter);
        var pairs = stream.ToList();
        var report = stream.Report;
        var notes = new List<string> { ReportLine(corpus, stream.Description, report) };
        notes.AddRange(report.Notes);
        if (pairs.Count < 2 && data?.HeldOut != DataOptions.ValidFile) throw new AttnScopeException($"corpus '{corpus}' has {pairs.Count} usable pairs; training needs at least 2");
        if (pairs.Count < 1) throw new AttnScopeException($"corpus '{corpus}' has no usable pairs");
        if (data?.HeldOut == DataOptions.ValidFile)
        {
            var valid = LoadTest(data.Valid!, sourceLanguage, targetLanguage, options, data);
            return new LoadedCorpus(pairs, valid.Test, [.. notes, .. valid.Notes]) { HeldOut = valid.HeldOut, Warnings = [.. report.Warnings, .. valid.Warnings] };
        }
        int max = data?.HeldOutMax ?? 1000;
        int held = Math.Clamp(pairs.Count / 50, 1, max);
        if (data is null)
            return new LoadedCorpus(pairs.Take(pairs.Count - held).ToList(), pairs.Skip(pairs.Count - held).ToList(), notes)
            {
                HeldOut = $"held out the last {held:N0} of {pairs.Count:N0} pairs (a run made before random held-out sets)", Warnings = report.Warnings,
            };
        var chosen = ChooseHeldOut(pairs.Count, held, data.HeldOutSeed);
        var trainPairs = new List<ParallelPair>(pairs.Count - held);
        var testPairs = new List<ParallelPair>(held);
        for (int i = 0; i < pairs.Count; i++) (chosen[i] ? testPairs : trainPairs).Add(pairs[i]);
        return new LoadedCorpus(trainPairs, testPairs, notes)
        {
            HeldOut = $"held out {held:N0} of {pairs.Count:N0} pairs (2 %, at most {max:N0}), drawn at random with seed {data.HeldOutSeed} (not the last lines); {trainPairs.Count:N0} train",
            Warnings = report.Warnings,
        };
    }

    /// <summary><paramref name="held"/> of <paramref name="count"/> positions drawn without replacement by a seeded
    /// partial Fisher–Yates shuffle: the same seed and count always choose the same pairs.</summary>
    public static bool[] ChooseHeldOut(int count, int held, int seed)
    {
        if (held < 0 || held > count) throw new ArgumentOutOfRangeException(nameof(held));
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        var random = new Random(seed);
        var chosen = new bool[count];
        for (int i = 0; i < held; i++)
        {
            int j = random.Next(i, count);
            (order[i], order[j]) = (order[j], order[i]);
            chosen[order[i]] = true;
        }
        return chosen;
    }

    /// <summary>Reads a whole corpus as a test set (evaluate --corpus PATH, train --valid PATH).</summary>
    public static LoadedCorpus LoadTest(string corpus, string sourceLanguage, string targetLanguage, TrainingOptions options, DataOptions? data = null)
    {
        if (corpus.Equals(Builtin, StringComparison.OrdinalIgnoreCase)) return Load(corpus, sourceLanguage, targetLanguage, options);
        // A test set is scored as it is: only the sanity filters, no deduplication and no ratio filter.
        var filter = (data?.Filter ?? CorpusFilterOptions.Default) with { Dedupe = false, MaxRatio = 0 };
        var stream = ParallelCorpusReader.Open(corpus, sourceLanguage, targetLanguage, filter);
        var pairs = stream.ToList();
        var report = stream.Report;
        if (pairs.Count == 0) throw new AttnScopeException($"corpus '{corpus}' has no usable pairs");
        return new LoadedCorpus([], pairs, [ReportLine(corpus, stream.Description, report), .. report.Notes])
        {
            HeldOut = $"held-out set: all {pairs.Count:N0} pairs of '{corpus}'", Warnings = report.Warnings,
        };
    }

    private static string ReportLine(string corpus, string description, CorpusReadReport r) =>
        $"read {description}: {r}";

    /// <summary>Encodes pairs for training: source pieces + EOS, target pieces; pairs longer than the limits are left out.</summary>
    /// <remarks>With a translation memory (fuzzy repair) each source is followed by the separator and the translation
    /// of its best match among the other training sources (<see cref="Fuzzy.FuzzyMemory.Augment"/>), cut to fit the
    /// model's length; the length filter applies to the source and target themselves.</remarks>
    public static (List<EncodedPair> Pairs, int Skipped) Encode(SubwordVocabulary vocab, IReadOnlyList<ParallelPair> pairs, int maxPieces, int maxLength,
        Fuzzy.FuzzyMemory? memory = null)
    {
        var list = new List<EncodedPair>(pairs.Count);
        int skipped = 0, limit = Math.Min(maxPieces, maxLength - 1);
        var matches = memory?.FindAll(pairs.Select(p => p.Source).ToList(), excludeSameSource: true);
        for (int i = 0; i < pairs.Count; i++)
        {
            var p = pairs[i];
            var s = vocab.Encode(p.Source).Ids;
            var t = vocab.Encode(p.Target).Ids;
            if (s.Length == 0 || t.Length == 0 || s.Length > limit || t.Length > limit) { skipped++; continue; }
            if (memory is not null) s = memory.Augment(vocab, s, matches![i], maxLength - 1, out _);
            list.Add(new EncodedPair([.. s, SubwordVocabulary.EosId], t));
        }
        return (list, skipped);
    }
}
