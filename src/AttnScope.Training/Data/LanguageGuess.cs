namespace AttnScope.Training.Data;

/// <summary>
/// A cheap guess of the language of some sentences by their most frequent function words (and, for German, its
/// letters ä ö ü ß). Good enough to notice that a column of English was declared German; returns null when the text
/// does not clearly read as one of the languages it knows (en, de, fr, es, it, nl, pt, cs).
/// </summary>
internal static class LanguageGuess
{
    private static readonly Dictionary<string, HashSet<string>> StopWords = new()
    {
        ["en"] = ["the", "and", "of", "to", "is", "in", "that", "it", "for", "you", "was", "with", "on", "are", "this", "be", "have", "not", "we", "i", "a", "an", "will", "which", "there", "would"],
        ["de"] = ["der", "die", "das", "und", "ist", "nicht", "ich", "zu", "den", "mit", "ein", "eine", "es", "sie", "auf", "für", "von", "dem", "sich", "wir", "auch", "im", "wird", "werden", "dass", "sind"],
        ["fr"] = ["le", "la", "les", "et", "est", "des", "un", "une", "que", "pas", "je", "pour", "dans", "du", "il", "nous", "vous", "qui", "sur", "au", "sont", "ce"],
        ["es"] = ["el", "los", "las", "y", "es", "que", "un", "una", "por", "con", "para", "no", "se", "del", "al", "lo", "como", "más", "pero", "su"],
        ["it"] = ["il", "di", "che", "è", "per", "non", "un", "una", "sono", "della", "del", "con", "gli", "anche", "questo", "ma", "nel", "alla"],
        ["nl"] = ["de", "het", "een", "en", "van", "is", "dat", "niet", "op", "te", "zijn", "voor", "met", "ik", "we", "ook", "wordt", "naar"],
        ["pt"] = ["o", "os", "as", "e", "é", "que", "um", "uma", "para", "com", "não", "do", "da", "dos", "em", "no", "na", "mais"],
        ["cs"] = ["a", "je", "se", "na", "že", "to", "v", "s", "jsou", "by", "pro", "jak", "ale", "také", "které", "jako", "není"],
    };

    /// <summary>The languages the guess knows.</summary>
    public static IReadOnlyCollection<string> Languages => StopWords.Keys;

    /// <summary>The best-scoring language when it has at least 5 % of the words and 1.5 times the runner-up, else null.</summary>
    public static string? Guess(IEnumerable<string> sentences)
    {
        var scores = StopWords.Keys.ToDictionary(k => k, _ => 0.0);
        long words = 0;
        foreach (var sentence in sentences)
        {
            foreach (var raw in sentence.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                var w = raw.Trim('.', ',', ';', ':', '!', '?', '"', '\'', '(', ')', '«', '»', '„', '“', '”').ToLowerInvariant();
                if (w.Length == 0) continue;
                words++;
                foreach (var (lang, set) in StopWords)
                    if (set.Contains(w)) scores[lang] += 1;
                if (w.AsSpan().IndexOfAny("äöüß") >= 0) scores["de"] += 0.5;
            }
        }
        if (words == 0) return null;
        var ranked = scores.OrderByDescending(kv => kv.Value).ToList();
        var (best, top) = (ranked[0].Key, ranked[0].Value);
        double second = ranked[1].Value;
        return top >= 0.05 * words && top >= 1.5 * second ? best : null;
    }
}
