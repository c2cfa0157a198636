using AttnScope.Training.Text;

namespace AttnScope.Training.Data;

/// <summary>
/// The filter every corpus format feeds: trims each side, drops empty, over-long, badly proportioned and duplicate
/// pairs with a count per reason (and a note for the first few of each), and after the first
/// <see cref="LanguageSample"/> kept pairs guesses the language of each side to warn when they look swapped.
/// Holds no pair itself: duplicates are found by a 64-bit hash of the pair, so memory grows by 8 bytes per kept pair.
/// </summary>
internal sealed class CorpusCollector(string sourceLanguage, string targetLanguage, CorpusFilterOptions filter)
{
    private const int NotesPerReason = 5;
    /// <summary>Pairs looked at by the language guess.</summary>
    public const int LanguageSample = 200;

    private readonly Dictionary<string, int> _skipped = new(StringComparer.Ordinal);
    private readonly List<string> _notes = [];
    private readonly List<string> _warnings = [];
    private readonly HashSet<ulong> _seen = [];
    private readonly List<string> _sampleSource = [], _sampleTarget = [];
    private bool _languageChecked;
    private int _kept;

    public string SourceLanguage => sourceLanguage;
    public string TargetLanguage => targetLanguage;

    public void Skip(string reason, string note, int count = 1)
    {
        int before = _skipped.GetValueOrDefault(reason);
        _skipped[reason] = before + count;
        if (before < NotesPerReason) _notes.Add(note);
    }

    public void Note(string note) => _notes.Add(note);

    public void Warn(string warning) => _warnings.Add(warning);

    /// <summary>The trimmed pair when it passes every filter, else null (and the reason is counted).</summary>
    public ParallelPair? Accept(string where, string source, string target)
    {
        source = source.Trim();
        target = target.Trim();
        if (source.Length == 0 || target.Length == 0)
        {
            Skip(CorpusSkipReason.Empty, $"{where}: {(source.Length == 0 ? "source" : "target")} is empty");
            return null;
        }
        if (source.Length > filter.MaxChars || target.Length > filter.MaxChars)
        {
            Skip(CorpusSkipReason.OverLongChars, $"{where}: {Math.Max(source.Length, target.Length)} characters (limit {filter.MaxChars})");
            return null;
        }
        int sw = Words.Count(source), tw = Words.Count(target);
        if (sw > filter.MaxWords || tw > filter.MaxWords)
        {
            Skip(CorpusSkipReason.OverLong, $"{where}: {Math.Max(sw, tw)} words (limit {filter.MaxWords})");
            return null;
        }
        if (filter.MaxRatio > 0 && Math.Max(sw, tw) > filter.MaxRatio * Math.Max(1, Math.Min(sw, tw)))
        {
            Skip(CorpusSkipReason.Ratio, $"{where}: {sw} source words and {tw} target words (ratio limit {filter.MaxRatio:0.##})");
            return null;
        }
        if (filter.Dedupe && !_seen.Add(PairHash(source, target)))
        {
            Skip(CorpusSkipReason.Duplicate, $"{where}: the same pair as an earlier line");
            return null;
        }
        _kept++;
        if (!_languageChecked)
        {
            _sampleSource.Add(source);
            _sampleTarget.Add(target);
            if (_sampleSource.Count >= LanguageSample) CheckLanguages();
        }
        return new ParallelPair(source, target);
    }

    /// <summary>Warns when the source side reads as the target language and the target side as the source language.</summary>
    private void CheckLanguages()
    {
        _languageChecked = true;
        var s = LanguageGuess.Guess(_sampleSource);
        var t = LanguageGuess.Guess(_sampleTarget);
        _sampleSource.Clear();
        _sampleTarget.Clear();
        if (s == targetLanguage && t == sourceLanguage)
            Warn($"the source side looks like '{s}' and the target side like '{t}', but --src is '{sourceLanguage}' and --tgt '{targetLanguage}': " +
                 $"the sides may be swapped (for a TSV, add a header line '{sourceLanguage}<TAB>{targetLanguage}' or '{targetLanguage}<TAB>{sourceLanguage}' naming its columns)");
    }

    public CorpusReadReport Report()
    {
        if (!_languageChecked && _sampleSource.Count > 0) CheckLanguages();
        return new CorpusReadReport(_kept, new Dictionary<string, int>(_skipped), [.. _notes]) { Warnings = [.. _warnings] };
    }

    /// <summary>FNV-1a over both sides (with a separator), finished with a 64-bit mix: equal pairs, equal hashes.</summary>
    private static ulong PairHash(string source, string target)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in source) h = (h ^ ch) * 1099511628211UL;
        h = (h ^ 0xFFFF) * 1099511628211UL;
        foreach (char ch in target) h = (h ^ ch) * 1099511628211UL;
        h ^= h >> 33; h *= 0xff51afd7ed558ccdUL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53UL; h ^= h >> 33;
        return h;
    }
}
