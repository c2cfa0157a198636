using System.Buffers.Binary;
using System.Text;
using AttnScope.Capture;

namespace AttnScope.Training.Data;

/// <summary>One message of a compiled gettext catalog: the English original, its translation, and the catalog's
/// name. Plural messages give their singular form and first translated form; a context prefix is dropped.</summary>
internal sealed record CatalogMessage(string Source, string Target, string Catalog);

/// <summary>
/// Reads compiled gettext catalogs (<c>.mo</c>, GNU format revision 0 or 1, either byte order) — the
/// translations of program messages that Debian packages install under <c>/usr/share/locale/LANG/LC_MESSAGES</c>,
/// which makes them a real parallel corpus every Debian machine can obtain. Every offset and length in the file's
/// header and tables is checked against the file before a string is read; a catalog that fails a check is refused
/// with one line naming the file and the problem.
/// </summary>
internal static class GettextCatalogReader
{
    /// <summary>Largest catalog accepted (the largest in Debian 12 is under 2 MB).</summary>
    public const long MaxCatalogBytes = 64L << 20;
    private const uint MagicLittle = 0x950412de, MagicBig = 0xde120495;

    /// <summary>Every message of one catalog that has a non-empty original and translation (the header entry,
    /// whose original is empty, and untranslated messages are left out), in the catalog's order.</summary>
    /// <exception cref="AttnScopeException">Not a catalog, an unsupported revision, or a table or string outside the file.</exception>
    public static IReadOnlyList<CatalogMessage> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new AttnScopeException($"gettext catalog '{path}' does not exist");
        if (info.Length > MaxCatalogBytes) throw new AttnScopeException($"gettext catalog '{path}' is {info.Length:N0} bytes (limit {MaxCatalogBytes:N0})");
        return Parse(File.ReadAllBytes(path), Path.GetFileNameWithoutExtension(path), path);
    }

    /// <summary>Parses catalog bytes; <paramref name="origin"/> names the file in messages.</summary>
    public static IReadOnlyList<CatalogMessage> Parse(byte[] bytes, string catalog, string origin)
    {
        void Fail(string what) => throw new AttnScopeException($"gettext catalog '{origin}': {what}");
        if (bytes.Length < 28) Fail($"{bytes.Length} bytes is too short for a .mo header (28)");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        bool little = magic == MagicLittle;
        if (!little && magic != MagicBig) Fail($"not a compiled gettext catalog (magic 0x{magic:x8})");
        ArgumentNullException.ThrowIfNull(bytes);
        var data = bytes;
        uint U32(int at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
        uint revision = U32(4);
        if (revision >> 16 > 1) Fail($"unsupported format revision {revision >> 16}.{revision & 0xffff}");
        uint count = U32(8), originals = U32(12), translations = U32(16);
        long tableBytes = (long)count * 8;
        if (originals > bytes.Length || tableBytes > bytes.Length - originals) Fail($"its table of {count:N0} originals at {originals} runs past the end of the file ({bytes.Length:N0} bytes)");
        if (translations > bytes.Length || tableBytes > bytes.Length - translations) Fail($"its table of {count:N0} translations at {translations} runs past the end of the file ({bytes.Length:N0} bytes)");
        (uint Length, uint Offset) Span(uint table, uint i, string which)
        {
            int at = checked((int)(table + 8 * i));
            uint length = U32(at), offset = U32(at + 4);
            // the string is followed by a NUL that the length does not count
            if (offset > data.Length || length >= data.Length - offset) Fail($"{which} {i} ({length:N0} bytes at {offset:N0}) lies outside the file");
            return (length, offset);
        }
        var encoding = CatalogEncoding(data, count, originals, translations, Span, origin);
        string Entry(uint table, uint i, string which)
        {
            var (length, offset) = Span(table, i, which);
            try { return encoding.GetString(data, (int)offset, (int)length); }
            catch (DecoderFallbackException) { Fail($"{which} {i} is not valid {encoding.WebName}"); return ""; }
        }
        var messages = new List<CatalogMessage>();
        for (uint i = 0; i < count; i++)
        {
            var source = Entry(originals, i, "original");
            var target = Entry(translations, i, "translation");
            int context = source.IndexOf('\u0004');
            if (context >= 0) source = source[(context + 1)..];
            int plural = source.IndexOf('\0');
            if (plural >= 0) source = source[..plural];
            int form = target.IndexOf('\0');
            if (form >= 0) target = target[..form];
            if (source.Length == 0 || target.Length == 0) continue;
            messages.Add(new CatalogMessage(source, target, catalog));
        }
        return messages;
    }

    /// <summary>The encoding the header entry (the translation of the empty original) names in its Content-Type
    /// line: UTF-8 (also when none is named), US-ASCII or ISO-8859-1; any other is refused.</summary>
    private static Encoding CatalogEncoding(byte[] data, uint count, uint originals, uint translations,
        Func<uint, uint, string, (uint Length, uint Offset)> span, string origin)
    {
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        for (uint i = 0; i < count; i++)
        {
            if (span(originals, i, "original").Length != 0) continue;
            var (length, offset) = span(translations, i, "translation");
            var header = Encoding.Latin1.GetString(data, (int)offset, (int)length);
            int at = header.IndexOf("charset=", StringComparison.OrdinalIgnoreCase);
            if (at < 0) return utf8;
            var name = new string(header[(at + 8)..].TakeWhile(c => char.IsLetterOrDigit(c) || c is '-' or '_').ToArray()).ToUpperInvariant();
            return name switch
            {
                "UTF-8" or "UTF8" or "CHARSET" or "" => utf8,
                "ASCII" or "US-ASCII" or "ANSI_X3.4-1968" => utf8,
                "ISO-8859-1" or "ISO8859-1" or "LATIN1" => Encoding.Latin1,
                _ => throw new AttnScopeException($"gettext catalog '{origin}': charset {name} is not supported (UTF-8, US-ASCII, ISO-8859-1)"),
            };
        }
        return utf8;
    }

    /// <summary>Every <c>.mo</c> file of a folder, read in ordinal name order (so two machines with the same
    /// packages read the same corpus in the same order). With <paramref name="refused"/>, a catalog that cannot be
    /// read is skipped and its one-line reason added there; without it, the first such catalog stops the read.</summary>
    public static IReadOnlyList<CatalogMessage> ReadFolder(string folder, List<string>? refused = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new AttnScopeException($"catalog folder '{folder}' does not exist");
        var files = Directory.GetFiles(folder, "*.mo").OrderBy(f => f, StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new AttnScopeException($"catalog folder '{folder}' holds no .mo files");
        var all = new List<CatalogMessage>();
        foreach (var f in files)
        {
            try { all.AddRange(Read(f)); }
            catch (AttnScopeException e) when (refused is not null) { refused.Add(e.Message); }
        }
        return all;
    }
}
