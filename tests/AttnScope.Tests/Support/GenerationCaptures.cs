using AttnScope.Capture;

namespace AttnScope.Tests.Support;

/// <summary>
/// Captures shaped like a decoder language model's generation (<c>attnscope generate</c>): one causal decoder stack
/// over the prompt tokens (segment A, offsets into Texts[0]) then the generated tokens (segment B, offsets into
/// Texts[1]), <c>generation.prompt_tokens</c> = P, and optionally <c>kv_heads</c> for grouped-query attention.
/// Attention is random but causal: row i spreads over keys 0..i, with <see cref="SinkWeight"/> of it on key 0 in
/// head 0 of every layer (a first-token sink).
/// </summary>
public static class GenerationCaptures
{
    public const string Prompt = "The cat sat on";
    public const string Continuation = " the mat <b>now</b>.";
    public const float SinkWeight = 0.8f;

    /// <summary>Prompt "The cat sat on" (4 tokens), generated " the", " mat", " <b>now</b>" (markup-like), "." (N = 8).</summary>
    public static AttentionCapture Gpt2Like(int layers = 2, int heads = 4, int? kvHeads = null, string stop = "eos", bool generation = true)
    {
        var tokens = new List<CaptureToken>
        {
            new("The", 464, 0, 3, Segment.A, false), new("Ġcat", 3797, 3, 7, Segment.A, false),
            new("Ġsat", 3332, 7, 11, Segment.A, false), new("Ġon", 319, 11, 14, Segment.A, false),
            new("Ġthe", 262, 0, 4, Segment.B, false), new("Ġmat", 2603, 4, 8, Segment.B, false),
            new("Ġ<b>now</b>", 9999, 8, 19, Segment.B, false), new(".", 13, 19, 20, Segment.B, false),
        };
        var extra = new Dictionary<string, string>();
        if (generation)
        {
            extra[GenerationInfo.PromptTokensKey] = "4";
            extra[GenerationInfo.StrategyKey] = "greedy";
            extra[GenerationInfo.StopKey] = stop;
        }
        if (kvHeads is { } kv) extra[KeyValueHeads.MetadataKey] = kv.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var meta = new CaptureMetadata
        {
            ModelId = "tiny-gpt2", Architecture = kvHeads is null ? "gpt2" : "llama", Source = "managed",
            Texts = [Prompt, Continuation], Extra = extra,
        };
        return new AttentionCapture(meta, tokens, [new AttentionStack(AttentionStack.Decoder, Causal(layers, heads, tokens.Count, seed: 5))]);
    }

    /// <summary>Random causal attention [layers, heads, n, n]: zeros above the diagonal, rows summing to 1; head 0 sinks on key 0.</summary>
    public static FloatTensor Causal(int layers, int heads, int n, int seed)
    {
        var rng = new Random(seed);
        var t = new FloatTensor([layers, heads, n, n]);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < n; i++)
                {
                    var row = t.Data.AsSpan(((l * heads + h) * n + i) * n, n);
                    float sum = 0;
                    for (int j = 0; j <= i; j++) sum += row[j] = 0.05f + (float)rng.NextDouble();
                    for (int j = 0; j <= i; j++) row[j] /= sum;
                    if (h == 0 && i > 0)
                    {
                        for (int j = 0; j <= i; j++) row[j] *= 1 - SinkWeight;
                        row[0] += SinkWeight;
                    }
                }
        return t;
    }
}
