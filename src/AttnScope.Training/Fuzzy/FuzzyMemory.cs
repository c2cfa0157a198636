using System.Text;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Evaluation;
using AttnScope.Training.Text;

namespace AttnScope.Training.Fuzzy;

/// <summary>The training pair most similar to a source, and the cosine of their character-trigram TF-IDF vectors.</summary>
internal sealed record FuzzyMatch(int Index, string Source, string Target, float Score);

/// <summary>
/// A translation memory: the training pairs, indexed for retrieval by the same similarity as the nearest-neighbour
/// baseline (<see cref="NearestNeighbourTranslator"/>), and the way a source is joined with its match's translation
/// (<see cref="Augment"/>). Thread-safe for retrieval.
/// </summary>
internal sealed class FuzzyMemory
{
    public const string FileName = "memory.jsonl";
    /// <summary>The vocabulary piece between the source and the match (a run with fuzzy repair has it as its last piece).</summary>
    public const string Separator = "<sep>";
    /// <summary>Most pairs a memory file may hold (docs/limits.md).</summary>
    public const int MaxPairs = 20_000_000;

    private readonly NearestNeighbourTranslator _index;

    public IReadOnlyList<ParallelPair> Pairs { get; }
    public FuzzyOptions Options { get; }

    public FuzzyMemory(IReadOnlyList<ParallelPair> pairs, FuzzyOptions options)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (pairs.Count == 0) throw new AttnScopeException("a translation memory needs at least one pair");
        Pairs = pairs;
        Options = options;
        _index = new NearestNeighbourTranslator(pairs);
    }

    /// <summary>
    /// The best match for <paramref name="source"/> at or over the minimum score, or null. Training leaves out matches
    /// whose source is the same text (<paramref name="excludeSameSource"/>): held-out sources are never in the memory,
    /// so a model that saw its own source as the match would learn to copy where it cannot at test time.
    /// </summary>
    public FuzzyMatch? Find(string source, float[]? scratch = null, bool excludeSameSource = false)
    {
        var (index, score) = _index.Best(source, scratch, excludeSameSource ? i => string.Equals(Pairs[i].Source, source, StringComparison.Ordinal) : null);
        if (index < 0 || score < Options.MinScore) return null;
        return new FuzzyMatch(index, Pairs[index].Source, Pairs[index].Target, score);
    }

    /// <summary>Matches for many sources on all cores (training: excluding same-source pairs).</summary>
    public FuzzyMatch?[] FindAll(IReadOnlyList<string> sources, bool excludeSameSource)
    {
        var result = new FuzzyMatch?[sources.Count];
        Parallel.For(0, sources.Count, () => new float[Pairs.Count], (i, _, scratch) =>
        {
            result[i] = Find(sources[i], scratch, excludeSameSource);
            return scratch;
        }, _ => { });
        return result;
    }

    /// <summary>
    /// The model's source ids (no EOS): the source's pieces, then, with a match, the separator and the match's
    /// translation, cut so that the whole fits <paramref name="limit"/> pieces (the source is never cut here);
    /// <paramref name="matchPieces"/> says how many of the match's pieces were kept.
    /// </summary>
    public int[] Augment(SubwordVocabulary vocab, int[] sourceIds, FuzzyMatch? match, int limit, out int matchPieces)
    {
        matchPieces = 0;
        if (match is null) return sourceIds;
        int sep = SeparatorId(vocab);
        var target = vocab.Encode(match.Target).Ids;
        int room = Math.Min(Options.MaxMatchPieces, limit - sourceIds.Length - 1);
        if (room <= 0) return sourceIds;
        matchPieces = Math.Min(room, target.Length);
        var ids = new int[sourceIds.Length + 1 + matchPieces];
        sourceIds.CopyTo(ids, 0);
        ids[sourceIds.Length] = sep;
        Array.Copy(target, 0, ids, sourceIds.Length + 1, matchPieces);
        return ids;
    }

    /// <summary>The separator's id in <paramref name="vocab"/>; a clear error when the vocabulary was not made for fuzzy repair.</summary>
    public static int SeparatorId(SubwordVocabulary vocab)
    {
        int id = vocab.IdOf(Separator);
        if (id == SubwordVocabulary.UnkId)
            throw new AttnScopeException($"the run's vocabulary has no '{Separator}' piece: it was not trained with --fuzzy");
        return id;
    }

    /// <summary>Writes the memory as JSON Lines ({"source": ..., "target": ...} per pair), atomically.</summary>
    public void Save(string folder)
    {
        var sb = new StringBuilder();
        foreach (var p in Pairs)
            sb.Append(JsonSerializer.Serialize(new Dictionary<string, string> { ["source"] = p.Source, ["target"] = p.Target })).Append('\n');
        AttnScope.Capture.Io.AtomicFile.WriteAllBytes(Path.Combine(folder, FileName), new UTF8Encoding(false).GetBytes(sb.ToString()));
    }

    /// <summary>Reads what <see cref="Save"/> wrote; a clear error for a missing or malformed file.</summary>
    public static FuzzyMemory Load(string folder, FuzzyOptions options)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new AttnScopeException($"the run uses fuzzy repair but its translation memory '{path}' is missing");
        var pairs = new List<ParallelPair>();
        int line = 0;
        foreach (var text in File.ReadLines(path, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            line++;
            if (text.Length == 0) continue;
            if (pairs.Count >= MaxPairs) throw new AttnScopeException($"'{path}' holds more than {MaxPairs:N0} pairs");
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("source", out var s) || !root.TryGetProperty("target", out var t)
                    || s.ValueKind != JsonValueKind.String || t.ValueKind != JsonValueKind.String)
                    throw new JsonException("expected an object with string \"source\" and \"target\"");
                pairs.Add(new ParallelPair(s.GetString()!, t.GetString()!));
            }
            catch (JsonException e)
            {
                throw new AttnScopeException($"'{path}' line {line} is not a memory entry: {e.Message}");
            }
        }
        if (pairs.Count == 0) throw new AttnScopeException($"'{path}' holds no pairs");
        return new FuzzyMemory(pairs, options);
    }
}
