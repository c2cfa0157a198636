using System.Text.Json;
using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// What tokenizer_config.json says about special tokens: whether BOS/EOS are added, which tokens they are, and the
/// added tokens it lists ("added_tokens_decoder"). Every field is optional.
/// </summary>
internal sealed record TokenizerConfig
{
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public bool? DoLowerCase { get; init; }
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    /// <summary>The empty configuration (no file).</summary>
    public static readonly TokenizerConfig None = new();

    /// <summary>Reads the file; malformed JSON or wrongly typed fields are one clear error.</summary>
    public static TokenizerConfig Read(string? path)
    {
        if (path is null) return None;
        if (!File.Exists(path)) throw new AttnScopeException($"tokenizer config not found: '{path}'");
        TokenizerLimits.CheckFileSize(path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("the top level is not a JSON object");
            var added = new List<AddedToken>();
            if (root.TryGetProperty("added_tokens_decoder", out var dec) && dec.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in dec.EnumerateObject())
                {
                    if (!int.TryParse(p.Name, out var id) || id < 0 || id >= TokenizerLimits.MaxVocabulary)
                        throw new FormatException($"added_tokens_decoder key \"{BpeFileReader.Short(p.Name)}\" is not an id in 0..{TokenizerLimits.MaxVocabulary - 1}");
                    var content = TokenString(p.Value, $"added_tokens_decoder.{p.Name}")
                                  ?? throw new FormatException($"added_tokens_decoder.{p.Name} has no content");
                    bool special = p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                    added.Add(new AddedToken(id, content, special));
                }
            }
            return new TokenizerConfig
            {
                AddBosToken = Bool(root, "add_bos_token"),
                AddEosToken = Bool(root, "add_eos_token"),
                DoLowerCase = Bool(root, "do_lower_case"),
                BosToken = root.TryGetProperty("bos_token", out var b) ? TokenString(b, "bos_token") : null,
                EosToken = root.TryGetProperty("eos_token", out var e) ? TokenString(e, "eos_token") : null,
                AddedTokens = added,
            };
        }
        catch (JsonException ex) { throw new AttnScopeException($"'{path}' is not valid JSON: {ex.Message}"); }
        catch (FormatException ex) { throw new AttnScopeException($"'{path}' is not a usable tokenizer_config.json: {ex.Message}"); }
    }

    private static bool? Bool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        throw new FormatException($"{name} is not true or false");
    }

    /// <summary>A token given as a string or as {"content": "..."}; null for JSON null.</summary>
    private static string? TokenString(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => throw new FormatException($"{name} is neither a string nor an object with a string \"content\""),
    };
}
