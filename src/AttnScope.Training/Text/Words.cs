namespace AttnScope.Training.Text;

/// <summary>The one definition of "word" used by alignments, the tokenizer and the corpus readers: maximal runs of
/// non-whitespace characters (<see cref="char.IsWhiteSpace(char)"/>), with their UTF-16 spans.</summary>
internal static class Words
{
    public static List<(int Start, int End)> Spans(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spans = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            if (i > start) spans.Add((start, i));
        }
        return spans;
    }

    public static string[] Split(string text) => Spans(text).Select(s => text[s.Start..s.End]).ToArray();

    public static int Count(string text) => Spans(text).Count;
}
