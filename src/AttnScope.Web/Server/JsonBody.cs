using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace AttnScope.Web.Server;

/// <summary>
/// A request's JSON object body, read strictly: at most a given number of bytes (413 beyond), valid UTF-8, no key
/// given twice, nesting of at most 16 levels, and string values that are valid Unicode (no lone surrogate from a
/// <c>\uD800</c> escape). Anything else is a 400 with one line saying what is wrong.
/// </summary>
internal sealed class JsonBody
{
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 16, AllowDuplicateProperties = false };

    private readonly JsonObject _body;

    private JsonBody(JsonObject body) => _body = body;

    /// <summary>Reads and checks the body of <paramref name="request"/>.</summary>
    public static async Task<JsonBody> ReadAsync(HttpRequest request, int limit)
    {
        if (request.ContentLength > limit)
            throw new HttpError(413, $"the request is {request.ContentLength} bytes; this server takes at most {limit}");
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > limit) throw new HttpError(413, $"the request is larger than {limit} bytes, the most this server takes");
        }
        return Parse(buffer.ToArray());
    }

    /// <summary>Checks and parses a body already read.</summary>
    public static JsonBody Parse(ReadOnlySpan<byte> bytes)
    {
        if (!Utf8.IsValid(bytes)) throw new HttpError(400, "the request body is not valid UTF-8");
        try
        {
            var body = JsonNode.Parse(bytes, documentOptions: Strict) as JsonObject
                       ?? throw new HttpError(400, "the request body must be a JSON object");
            // Keys are decoded here, once: a key holding a lone surrogate escape is refused now, not when it is looked up.
            foreach (var (name, _) in body)
                if (!IsValidUnicode(name)) throw new HttpError(400, "a key of the request body is not valid Unicode (it holds a lone surrogate escape such as \\uD800)");
            return new JsonBody(body);
        }
        catch (JsonException e)
        {
            throw new HttpError(400, $"the request body is not valid JSON: {OneLine(e.Message)}");
        }
        catch (InvalidOperationException)
        {
            throw new HttpError(400, "the request body is not valid Unicode (it holds a lone surrogate escape such as \\uD800)");
        }
    }

    /// <summary>The string value of <paramref name="key"/>, null when absent or null; 400 for another type or invalid Unicode.</summary>
    public string? Str(string key)
    {
        var invalid = new HttpError(400, $"'{key}' is not valid Unicode (it holds a lone surrogate escape such as \\uD800)");
        string? value;
        try
        {
            value = _body[key] switch
            {
                null => null,
                JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                _ => throw new HttpError(400, $"'{key}' must be a string"),
            };
        }
        catch (InvalidOperationException) { throw invalid; } // the reader refuses to decode a lone surrogate
        if (value is not null && !IsValidUnicode(value)) throw invalid;
        return value;
    }

    /// <summary>The whole-number value of <paramref name="key"/>, null when absent or null; 400 for anything else.</summary>
    public long? Long(string key) => _body[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) => n,
        _ => throw new HttpError(400, $"'{key}' must be a whole number"),
    };

    private static bool IsValidUnicode(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (!char.IsSurrogate(s[i])) continue;
            if (!char.IsHighSurrogate(s[i]) || i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
            i++;
        }
        return true;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
