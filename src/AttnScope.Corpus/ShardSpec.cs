using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>
/// One of <see cref="Count"/> shards of an input file (<c>--shard I/K</c>, I from 0): the lines whose number n has
/// (n − 1) mod K = I. Every shard reads the same file and keeps the file's line numbers, so shards run anywhere and
/// merge into one database without renumbering (<see cref="CorpusMerge"/>).
/// </summary>
internal readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>The whole file.</summary>
    public static readonly ShardSpec All = new(0, 1);

    /// <summary>Whether a line belongs to this shard.</summary>
    public bool Holds(long line) => (line - 1) % Count == Index;

    /// <summary>The <c>I/K</c> form.</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>Parses <c>I/K</c>.</summary>
    public static ShardSpec Parse(string text)
    {
        var p = text.Trim().Split('/');
        if (p.Length != 2 || !int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1 || k > 1_000_000 || i >= k)
            throw new AttnScopeException($"'{text}' is not a shard: write I/K with 0 ≤ I < K (e.g. 0/4 … 3/4)");
        return new ShardSpec(i, k);
    }
}
