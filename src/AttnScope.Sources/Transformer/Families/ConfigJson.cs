using System.Text.Json;
using AttnScope.Capture;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// Strict reads of a Hugging Face config.json: a key that is present must have the expected JSON type (null counts
/// as absent only where Hugging Face treats it so); otherwise one line naming the file, the key and what it holds.
/// </summary>
internal sealed class ConfigJson
{
    private readonly JsonElement _root;
    public string Origin { get; }

    private ConfigJson(JsonElement root, string origin) { _root = root; Origin = origin; }

    public static ConfigJson Parse(string json, string origin)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new AttnScopeException($"{origin} is not a JSON object");
            return new ConfigJson(doc.RootElement.Clone(), origin);
        }
        catch (JsonException e) { throw new AttnScopeException($"{origin} is not valid JSON: {e.Message}"); }
    }

    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    private AttnScopeException Wrong(string key, JsonElement v, string expected) =>
        new($"{Origin}: {key} must be {expected}, not {Models.BertConfig.Describe(v)}");

    public int? IntOrNull(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw Wrong(key, v, "a whole number");
        if (x < int.MinValue || x > int.MaxValue) throw new AttnScopeException($"{Origin}: {key} {x} is out of range");
        return (int)x;
    }

    public int Int(string key, int fallback) => IntOrNull(key) ?? fallback;

    public int Required(string key, params string[] aliases)
    {
        foreach (var k in aliases.Prepend(key))
            if (IntOrNull(k) is int x) return x;
        throw new AttnScopeException($"{Origin} has no '{key}'");
    }

    public float Float(string key, float fallback)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind != JsonValueKind.Number) throw Wrong(key, v, "a number");
        return (float)v.GetDouble();
    }

    public bool Bool(string key, bool fallback)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Wrong(key, v, "true or false");
        return v.GetBoolean();
    }

    public string? String(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Wrong(key, v, "a string");
        try { return v.GetString(); }
        catch (InvalidOperationException e) { throw new AttnScopeException($"{Origin} holds text that is not valid: {e.Message}"); } // a lone surrogate escape
    }

    /// <summary>A token id that may be given as a number or a list (the first is taken).</summary>
    public int? TokenId(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in v.EnumerateArray()) if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int x)) return x;
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int id)) throw Wrong(key, v, "a token id");
        return id;
    }

    /// <summary>A nested object (e.g. rope_scaling), or null.</summary>
    public ConfigJson? Object(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(key, v, "an object");
        return new ConfigJson(v, $"{Origin} ({key})");
    }
}
