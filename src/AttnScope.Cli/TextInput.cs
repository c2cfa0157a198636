using System.Text;
using AttnScope.Capture;

namespace AttnScope.Cli;

/// <summary>Input text given inline (<c>--text</c>) or from a file (<c>--text-file</c>, <c>-</c> for standard input).</summary>
internal static class TextInput
{
    /// <summary>Texts longer than this are refused before tokenizing (the model sees at most 512 tokens anyway).</summary>
    public const int MaxCharacters = 10_000_000;

    public static string? Read(string? inline, string? file, string option, bool required)
    {
        if (inline is not null && file is not null)
            throw new AttnScopeException($"give either {option} or {option}-file, not both");
        if (inline is null && file is null)
            return required ? throw new AttnScopeException($"no input text: give {option} \"...\" or {option}-file PATH") : null;
        string text;
        if (file is null) text = inline!;
        else if (file == "-") text = ReadLimited(Console.OpenStandardInput(), "standard input");
        else
        {
            if (!File.Exists(file)) throw new AttnScopeException($"text file not found: '{file}'");
            using var s = File.OpenRead(file);
            text = ReadLimited(s, $"'{file}'");
        }
        if (text.Length > MaxCharacters)
            throw new AttnScopeException($"the text is {text.Length:N0} characters; at most {MaxCharacters:N0} are read (the model sees at most its first 512 tokens)");
        return text;
    }

    private static string ReadLimited(Stream s, string what)
    {
        using var reader = new StreamReader(s, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var text = new StringBuilder();
        var chunk = new char[1 << 16];
        int n;
        try
        {
            while ((n = reader.Read(chunk, 0, chunk.Length)) > 0)
            {
                text.Append(chunk, 0, n);
                if (text.Length > MaxCharacters)
                    throw new AttnScopeException($"{what} holds more than {MaxCharacters:N0} characters; at most that many are read (the model sees at most its first 512 tokens)");
            }
        }
        catch (DecoderFallbackException)
        {
            throw new AttnScopeException($"{what} is not valid UTF-8 text");
        }
        return text.ToString();
    }
}
