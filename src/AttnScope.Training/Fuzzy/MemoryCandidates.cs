using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Evaluation;

namespace AttnScope.Training.Fuzzy;

/// <summary>A translation memory entry that won against the model's own translation.</summary>
/// <param name="Index">The pair's index in the memory.</param>
/// <param name="Source">The memory's source text (the most similar ones to the sentence translated).</param>
/// <param name="Cosine">Character-trigram TF-IDF cosine of the two sources (0..1).</param>
/// <param name="Score">The model's length-normalized log-probability of the entry's translation.</param>
/// <param name="ModelScore">The same for the model's own beam-search translation (−∞ when that never ended).</param>
internal sealed record MemoryChoice(int Index, string Source, float Cosine, double Score, double ModelScore);

/// <summary>
/// Memory reranking, a variant of our own: the translations of the <see cref="Count"/> training pairs whose sources are
/// most similar to the sentence (the retrieval baseline's similarity, <see cref="NearestNeighbourTranslator"/>) are
/// scored by the model itself under teacher forcing, and compete with its beam-search translation; the highest
/// length-normalized log-probability wins (<see cref="Decoding.Translator.Translate"/>). The choice uses the model
/// and the memory only, never a reference. Thread-safe.
/// </summary>
internal sealed class MemoryCandidates
{
    public const int DefaultCount = 4;
    /// <summary>Most candidates per sentence (each is decoded once more with teacher forcing).</summary>
    public const int MaxCount = 64;

    private readonly NearestNeighbourTranslator _index;
    private readonly ThreadLocal<float[]> _scratch;

    public IReadOnlyList<ParallelPair> Pairs { get; }
    public int Count { get; }
    /// <summary>Where the pairs came from, for notes.</summary>
    public string Description { get; init; } = "";

    public MemoryCandidates(IReadOnlyList<ParallelPair> pairs, int count = DefaultCount)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) throw new AttnScopeException("a translation memory needs at least one pair");
        if (count < 1 || count > MaxCount) throw new AttnScopeException($"--memory-candidates {count} is out of range (1..{MaxCount})");
        Pairs = pairs;
        Count = count;
        _index = new NearestNeighbourTranslator(pairs);
        _scratch = new ThreadLocal<float[]>(() => new float[pairs.Count]);
    }

    /// <summary>The most similar pairs for a source, best first (only those sharing a character trigram with it).</summary>
    public List<(int Index, float Cosine)> For(string source) => _index.Top(source, Count, _scratch.Value);
}
