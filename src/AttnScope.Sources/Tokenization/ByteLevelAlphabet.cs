namespace AttnScope.Sources.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet: each of the 256 byte values is written as one printable character so byte strings
/// can live in a JSON vocabulary. Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the
/// other 68 bytes, in increasing order, take the characters U+0100, U+0101, ... (so a space, 0x20, is 'Ġ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildTable();
    private static readonly Dictionary<char, byte> CharToByte = BuildReverse();

    private static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    private static Dictionary<char, byte> BuildReverse()
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (byte)b;
        return map;
    }

    /// <summary>The character that stands for a byte.</summary>
    public static char Encode(byte b) => ByteToChar[b];

    /// <summary>The byte a character stands for, or false for characters outside the alphabet.</summary>
    public static bool TryDecode(char c, out byte b) => CharToByte.TryGetValue(c, out b);

    /// <summary>The bytes a vocabulary string stands for (characters outside the alphabet are kept as their UTF-8).</summary>
    public static byte[] ToBytes(string piece)
    {
        var bytes = new List<byte>(piece.Length);
        foreach (var c in piece)
        {
            if (TryDecode(c, out var b)) bytes.Add(b);
            else bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString()));
        }
        return bytes.ToArray();
    }
}
