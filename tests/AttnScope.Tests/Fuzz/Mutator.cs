using System.Text;

namespace AttnScope.Tests.Fuzz;

/// <summary>
/// Turns a valid file into a broken one, the way a fuzzer does: bit flips, interesting bytes, inserted, deleted,
/// duplicated and truncated ranges, and (for text) numbers replaced by extreme values, JSON values by values of
/// other types, lines repeated and control characters inserted. Deterministic for a given <see cref="Random"/>.
/// </summary>
public static class Mutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80, 0xC3, 0xFE, (byte)'"', (byte)'{', (byte)'[', (byte)'\\', (byte)'\n', (byte)'\r', (byte)'\t', 0x1B, (byte)'0', (byte)'9', (byte)'-'];

    private static readonly string[] InterestingNumbers =
    [
        "-1", "0", "1", "-0", "2", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483648", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "3000000", "1000000", "100000", "1e309", "-1e309",
        "1e-320", "0.5", "1.0000001", "3.4e38", "NaN", "1E+400", "00", "16384", "16385", "257", "32769",
    ];

    private static readonly string[] InterestingValues =
    [
        "null", "true", "false", "\"\"", "\"x\"", "[]", "{}", "[null]", "{\"a\":1}", "\"\\u0000\"", "\"\\ud800\"", "\"\\u001b[2J\"",
        "\"\\n\"", "[[[[[[[[[[]]]]]]]]]]", "\"A\"", "\"B\"", "\"F16\"", "\"I64\"", "\"F32\"",
    ];

    /// <summary>One to four mutations of <paramref name="input"/> (never changed itself).</summary>
    public static byte[] Mutate(byte[] input, Random rng, bool text)
    {
        var bytes = new List<byte>(input);
        int count = 1 + rng.Next(4);
        for (int i = 0; i < count; i++)
        {
            int kind = rng.Next(text ? 12 : 8);
            switch (kind)
            {
                case 0: FlipBit(bytes, rng); break;
                case 1: SetInteresting(bytes, rng); break;
                case 2: InsertRandom(bytes, rng); break;
                case 3: DeleteRange(bytes, rng); break;
                case 4: DuplicateRange(bytes, rng); break;
                case 5: Truncate(bytes, rng); break;
                case 6: SetInteresting(bytes, rng); break;
                case 7: ReplaceNumber(bytes, rng); break;
                case 8: ReplaceNumber(bytes, rng); break;
                case 9: ReplaceValue(bytes, rng); break;
                case 10: RepeatLine(bytes, rng); break;
                default: InsertControl(bytes, rng); break;
            }
        }
        return [.. bytes];
    }

    private static void FlipBit(List<byte> b, Random rng)
    {
        if (b.Count == 0) return;
        int i = rng.Next(b.Count);
        b[i] ^= (byte)(1 << rng.Next(8));
    }

    private static void SetInteresting(List<byte> b, Random rng)
    {
        if (b.Count == 0) return;
        b[rng.Next(b.Count)] = InterestingBytes[rng.Next(InterestingBytes.Length)];
    }

    private static void InsertRandom(List<byte> b, Random rng)
    {
        var add = new byte[1 + rng.Next(8)];
        rng.NextBytes(add);
        b.InsertRange(rng.Next(b.Count + 1), add);
    }

    private static void DeleteRange(List<byte> b, Random rng)
    {
        if (b.Count == 0) return;
        int at = rng.Next(b.Count);
        b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16)));
    }

    private static void DuplicateRange(List<byte> b, Random rng)
    {
        if (b.Count == 0) return;
        int at = rng.Next(b.Count);
        var chunk = b.GetRange(at, Math.Min(b.Count - at, 1 + rng.Next(64)));
        b.InsertRange(rng.Next(b.Count + 1), chunk);
    }

    private static void Truncate(List<byte> b, Random rng)
    {
        if (b.Count == 0) return;
        int keep = rng.Next(b.Count);
        b.RemoveRange(keep, b.Count - keep);
    }

    /// <summary>Finds a run of digits (with sign, point and exponent) at a random place and replaces it.</summary>
    private static void ReplaceNumber(List<byte> b, Random rng)
    {
        var starts = new List<int>();
        for (int i = 0; i < b.Count; i++)
            if (IsDigit(b[i]) && (i == 0 || !IsNumberByte(b[i - 1]))) starts.Add(i);
        if (starts.Count == 0) { InsertAt(b, rng.Next(b.Count + 1), Pick(InterestingNumbers, rng)); return; }
        int s = starts[rng.Next(starts.Count)];
        if (s > 0 && b[s - 1] == (byte)'-') s--;
        int e = s + 1;
        while (e < b.Count && IsNumberByte(b[e])) e++;
        b.RemoveRange(s, e - s);
        InsertAt(b, s, Pick(InterestingNumbers, rng));
    }

    /// <summary>Replaces what follows a random ':' (a JSON value, roughly) with a value of another type.</summary>
    private static void ReplaceValue(List<byte> b, Random rng)
    {
        var colons = new List<int>();
        for (int i = 0; i < b.Count; i++) if (b[i] == (byte)':') colons.Add(i);
        if (colons.Count == 0) { InsertAt(b, rng.Next(b.Count + 1), Pick(InterestingValues, rng)); return; }
        int s = colons[rng.Next(colons.Count)] + 1;
        int e = s;
        if (e < b.Count && b[e] == (byte)'"')
        {
            e++;
            while (e < b.Count && b[e] != (byte)'"') e += b[e] == (byte)'\\' ? 2 : 1;
            e = Math.Min(b.Count, e + 1);
        }
        else
            while (e < b.Count && b[e] is not ((byte)',' or (byte)'}' or (byte)']')) e++;
        b.RemoveRange(s, Math.Min(e, b.Count) - s);
        InsertAt(b, s, Pick(InterestingValues, rng));
    }

    private static void RepeatLine(List<byte> b, Random rng)
    {
        var starts = new List<int> { 0 };
        for (int i = 0; i < b.Count; i++) if (b[i] == (byte)'\n' && i + 1 < b.Count) starts.Add(i + 1);
        int s = starts[rng.Next(starts.Count)];
        int e = s;
        while (e < b.Count && b[e] != (byte)'\n') e++;
        var line = b.GetRange(s, Math.Min(b.Count, e + 1) - s);
        b.InsertRange(starts[rng.Next(starts.Count)], line);
    }

    private static void InsertControl(List<byte> b, Random rng)
    {
        string[] controls = ["\u001b[31m", "\r", "\u0000", "\t", "\u2028", "\u202e", "\ufeff", "\ud7ff", "é", "\n\n"];
        InsertAt(b, rng.Next(b.Count + 1), Pick(controls, rng));
    }

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';
    private static bool IsNumberByte(byte c) => IsDigit(c) || c is (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or (byte)'-';
    private static string Pick(string[] options, Random rng) => options[rng.Next(options.Length)];
    private static void InsertAt(List<byte> b, int at, string s) => b.InsertRange(at, Encoding.UTF8.GetBytes(s));
}
