namespace AttnScope.Training.Data;

/// <summary>What reading a corpus kept and skipped, with counts per reason (empty, misaligned, over-long, malformed).</summary>
public sealed record CorpusReadReport(int Kept, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<string> Notes);

public sealed record CorpusReadResult(IReadOnlyList<ParallelPair> Pairs, CorpusReadReport Report);

/// <summary>Reads parallel corpora: a pair of aligned plain-text files (train.en / train.de), TSV, and JSON Lines in
/// the WMT layout ({"translation": {"en": "...", "de": "..."}}). Bad lines are skipped and counted, never fatal.</summary>
public static class ParallelCorpusReader
{
    /// <summary><paramref name="path"/> is a .tsv or .jsonl file, or a path prefix such as <c>data/train</c> with
    /// <c>data/train.{src}</c> and <c>data/train.{tgt}</c> beside it. <paramref name="maxWords"/> bounds each side.</summary>
    public static CorpusReadResult Read(string path, string sourceLanguage = "en", string targetLanguage = "de", int maxWords = 100)
        => throw new NotImplementedException("built by the corpus work");
}
