namespace AttnScope.Training.Data.Builtin;

/// <summary>A word being placed: the same object may sit at different positions in English and German; links
/// are made between word objects and turned into indices when the sentence is finished.</summary>
internal sealed class Word(string text)
{
    public string Text { get; set; } = text;
}

/// <summary>Collects the words of both sides and the links between them, then lays them out as a <see cref="ParallelPair"/>.</summary>
internal sealed class SentenceBuilder
{
    private readonly List<(Word En, Word De, bool Sure)> _links = [];

    public void Sure(Word en, Word de) => _links.Add((en, de, true));
    public void Possible(Word en, Word de) => _links.Add((en, de, false));

    public static List<Word> Words(params string[] texts) => texts.Select(t => new Word(t)).ToList();

    public void Link(Phrase phrase, List<Word> en, List<Word> de)
    {
        foreach (var (e, d, sure) in phrase.Links) _links.Add((en[e], de[d], sure));
    }

    /// <summary>Capitalizes the first word of each side, appends the full stop and builds the pair.</summary>
    public ParallelPair Finish(List<Word> en, List<Word> de)
    {
        Capitalize(en[0]);
        Capitalize(de[0]);
        en[^1].Text += ".";
        de[^1].Text += ".";
        var enIndex = Index(en);
        var deIndex = Index(de);
        var gold = new List<WordAlignment>();
        var seen = new HashSet<(int, int)>();
        foreach (var (e, d, sure) in _links)
        {
            var key = (enIndex[e], deIndex[d]);
            if (seen.Add(key)) gold.Add(new WordAlignment(key.Item1, key.Item2, sure));
        }
        gold.Sort((a, b) => a.TargetWord != b.TargetWord ? a.TargetWord.CompareTo(b.TargetWord) : a.SourceWord.CompareTo(b.SourceWord));
        return new ParallelPair(string.Join(' ', en.Select(w => w.Text)), string.Join(' ', de.Select(w => w.Text)), gold);
    }

    private static Dictionary<Word, int> Index(List<Word> words)
    {
        var index = new Dictionary<Word, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < words.Count; i++) index.Add(words[i], i);
        return index;
    }

    private static void Capitalize(Word w)
    {
        if (w.Text.Length > 0 && char.IsLower(w.Text[0])) w.Text = char.ToUpperInvariant(w.Text[0]) + w.Text[1..];
    }
}
