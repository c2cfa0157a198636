namespace AttnScope.Training.Data.Formats;

/// <summary>Two plain-text files, line i of one translating line i of the other.</summary>
internal static class AlignedTextFormat
{
    public static IEnumerable<ParallelPair> Read(string srcPath, string tgtPath, CorpusCollector c)
    {
        using var s = CorpusLines.Read(srcPath).GetEnumerator();
        using var t = CorpusLines.Read(tgtPath).GetEnumerator();
        int lineNo = 0;
        while (true)
        {
            bool hs = s.MoveNext(), ht = t.MoveNext();
            if (!hs && !ht) break;
            lineNo++;
            if (hs != ht)
            {
                int extra = 1;
                var longer = hs ? s : t;
                while (longer.MoveNext()) extra++;
                var (more, fewer) = hs ? (srcPath, tgtPath) : (tgtPath, srcPath);
                c.Skip(CorpusSkipReason.Misaligned,
                    $"'{more}' has {extra} more line(s) than '{fewer}' ({lineNo - 1} lines); the extra lines are skipped — check that the files belong together",
                    extra);
                break;
            }
            var where = $"line {lineNo}";
            if (s.Current.TooLong || t.Current.TooLong)
            {
                c.Skip(CorpusSkipReason.OverLong, $"{where}: the {(s.Current.TooLong ? "source" : "target")} is longer than {ParallelCorpusReader.MaxLineBytes} bytes");
                continue;
            }
            if (s.Current.Text is null || t.Current.Text is null)
            {
                c.Skip(CorpusSkipReason.InvalidUtf8, $"{where}: the {(s.Current.Text is null ? "source" : "target")} is not valid UTF-8");
                continue;
            }
            if (c.Accept(where, s.Current.Text, t.Current.Text) is { } pair) yield return pair;
        }
    }
}
