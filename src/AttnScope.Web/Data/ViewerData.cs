using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Views.Static;

namespace AttnScope.Web.Data;

/// <summary>
/// A capture as the browser viewer reads it: a small JSON description (tokens as printable labels, stacks, frames)
/// and binary sections fetched per layer or head as a view needs them. The same sections travel one by one from
/// the server and all together inside an offline page (<see cref="ViewerBundle"/>). Section names:
/// <list type="bullet">
/// <item><c>att/STACK/LAYER</c>: float32 row scales [heads·queries], then uint8 [heads, queries, keys]
/// (value ≈ byte / 255 · row scale, the row's maximum)</item>
/// <item><c>exact/STACK/LAYER/HEAD</c>: the exact float32 [queries, keys] of one head (for hover values)</item>
/// <item><c>thumb/STACK/LAYER</c>: uint8 [heads, tq, tk], each head max-pooled to at most 64×64 and scaled to its maximum</item>
/// <item><c>qk/STACK/LAYER/HEAD</c>: float32 queries [queries, head_dim], then keys [keys, head_dim]</item>
/// <item><c>norm/STACK/LAYER</c>, <c>normx/STACK/LAYER/HEAD</c>: norm-based attention ‖α_ij f(x_j)‖ (Kobayashi et al.
/// 2020) in the formats of <c>att</c> and <c>exact</c>, when the stack has it (<see cref="NormSource"/>)</item>
/// </list>
/// </summary>
internal sealed class ViewerData
{
    public const int ThumbSize = 64;

    public AttentionCapture Capture { get; }
    public string Title { get; }

    public ViewerData(AttentionCapture capture, string title)
    {
        Capture = capture;
        Title = title;
    }

    /// <summary>The description the viewer starts from; <paramref name="exact"/> says where exact values come from
    /// ("inline": in the bundle, "fetch": from the server, "none": only the 8-bit values).</summary>
    /// <param name="includeNorm">Whether the norm-based sections a stack's value vectors give are offered (the
    /// server computes them per layer on request; an offline page leaves them out when they would not fit).</param>
    public JsonObject Meta(string exact, bool includeNorm = true)
    {
        var stacks = new JsonArray();
        var frames = new JsonArray();
        foreach (var name in AttentionStack.Names)
        {
            if (!Capture.Stacks.TryGetValue(name, out var s)) continue;
            var (tq, tk) = ThumbDims(s);
            stacks.Add(new JsonObject
            {
                ["name"] = name,
                ["layers"] = s.Layers,
                ["heads"] = s.Heads,
                ["queries"] = s.Queries,
                ["keys"] = s.Keys,
                ["queryAxis"] = name == AttentionStack.Encoder || Capture.TargetTokens.Count == 0 ? "tokens" : "targetTokens",
                ["keyAxis"] = name == AttentionStack.Decoder && Capture.TargetTokens.Count > 0 ? "targetTokens" : "tokens",
                ["headDim"] = s.Query is { } q && s.Key is not null ? q.Shape[3] : 0,
                ["thumbQ"] = tq,
                ["thumbK"] = tk,
                ["kvHeads"] = KeyValueHeads.Of(Capture.Metadata, s.Heads, name),
                ["norm"] = includeNorm && NormSource(name) is { } n
                    ? new JsonObject { ["source"] = n.Source, ["vectors"] = n.Vectors } : null,
            });
            // Frames are what the player steps through; each names the matrix stack it shows. Layers now;
            // decoding steps or training checkpoints are further frames of the same shape.
            for (int l = 0; l < s.Layers; l++)
                frames.Add(new JsonObject { ["caption"] = $"{name} layer {l}", ["stack"] = name, ["layer"] = l });
        }
        var cmap = ColorMap.Get("viridis");
        var lut = new JsonArray();
        for (int i = 0; i < ColorMap.Levels; i++)
        {
            var c = cmap.Map(i / (float)(ColorMap.Levels - 1));
            lut.Add((c.Red << 16) | (c.Green << 8) | c.Blue);
        }
        return new JsonObject
        {
            ["title"] = Title,
            ["model"] = Capture.Metadata.ModelId,
            ["source"] = Capture.Metadata.Source,
            ["texts"] = new JsonArray(Capture.Metadata.Texts.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["warnings"] = new JsonArray(Capture.Metadata.Warnings.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["tokens"] = TokensJson(Capture.Tokens),
            ["targetTokens"] = TokensJson(Capture.TargetTokens),
            ["stacks"] = stacks,
            ["frames"] = frames,
            ["steps"] = StepFrames(),
            ["exact"] = exact,
            ["colormap"] = lut,
            ["analyses"] = AnalysisData.Meta(Capture),
            ["vision"] = VisionMeta(Capture),
            ["speech"] = MediaMeta.Speech(Capture),
            ["clip"] = MediaMeta.Clip(Capture),
        };
    }

    /// <summary>Largest image (pixels) the description carries for the image view; a larger one is left out (grid only).</summary>
    public const int MaxVisionPixels = 1024 * 1024;

    /// <summary>
    /// The image view's part of the description for a vision capture (docs/vision.md), else null: the patch grid, the
    /// special tokens before the patches, and the model's view of the image as base64 RGB bytes, row by row.
    /// </summary>
    public static JsonObject? VisionMeta(AttentionCapture capture)
    {
        var v = AttnScope.Sources.Vision.VisionLayout.Of(capture);
        if (v is null) return null;
        var img = v.Image;
        bool carry = (long)img.Width * img.Height <= MaxVisionPixels;
        var x = capture.Metadata.Extra;
        return new JsonObject
        {
            ["gridRows"] = v.GridRows,
            ["gridCols"] = v.GridCols,
            ["special"] = v.SpecialTokens,
            ["patchSize"] = v.PatchSize,
            ["width"] = img.Width,
            ["height"] = img.Height,
            ["rgb"] = carry ? Convert.ToBase64String(img.Pixels) : null,
            ["prediction"] = x.GetValueOrDefault("vision.prediction"),
        };
    }

    /// <summary>
    /// The step frames the player offers beside the layers: the generation steps of a decoder language model's
    /// capture (<see cref="GenerationInfo"/>), else the decoding steps of a translation capture, else none.
    /// Each frame names its stack and <c>step</c>, the query row it reveals up to; <c>causal</c> frames (generation)
    /// also hide the keys after that row, tokens not yet generated.
    /// </summary>
    private JsonArray StepFrames() =>
        GenerationInfo.Of(Capture) is { } g ? GenerationFrames(g) : DecodingFrames();

    /// <summary>Generation step t reveals decoder rows 0..P−1+t; row P−1+t produced token P+t (the last row nothing).</summary>
    private JsonArray GenerationFrames(GenerationInfo g)
    {
        var steps = new JsonArray();
        for (int t = 0; t < g.Steps; t++)
        {
            var produced = g.Produced(Capture.Tokens, t);
            steps.Add(new JsonObject
            {
                ["caption"] = g.Caption(Capture.Tokens, t),
                ["stack"] = AttentionStack.Decoder,
                ["step"] = g.Row(t),
                ["produced"] = produced is null ? null : TokenText.Printable(produced.Text),
                ["causal"] = true,
            });
        }
        return steps;
    }

    /// <summary>
    /// Decoding-step frames of a capture with target tokens: frame t reveals the cross-attention rows 0..t, row t
    /// being the step that read decoder input t and produced input t+1 (the last row produced the end of sentence,
    /// the source's final special token when it has one). Empty for captures without target tokens.
    /// </summary>
    private JsonArray DecodingFrames()
    {
        var steps = new JsonArray();
        if (Capture.TargetTokens.Count == 0 || !Capture.Stacks.TryGetValue(AttentionStack.Cross, out var cross)) return steps;
        var end = Capture.Tokens.Count > 0 && Capture.Tokens[^1].IsSpecial ? Capture.Tokens[^1] : null;
        for (int t = 0; t < cross.Queries; t++)
        {
            var produced = t + 1 < Capture.TargetTokens.Count ? Capture.TargetTokens[t + 1] : end;
            var label = produced is null ? null : TokenText.Printable(produced.Text);
            steps.Add(new JsonObject
            {
                ["caption"] = label is null ? $"step {t + 1}: produced the end of sentence" : $"step {t + 1}: produced '{label}'",
                ["stack"] = AttentionStack.Cross,
                ["step"] = t,
                ["produced"] = label,
            });
        }
        return steps;
    }

    private static JsonArray TokensJson(IReadOnlyList<CaptureToken> tokens)
    {
        var arr = new JsonArray();
        foreach (var t in tokens)
            arr.Add(new JsonObject
            {
                ["label"] = TokenText.Printable(t.Text),
                ["segment"] = t.Segment == Segment.A ? "A" : "B",
                ["special"] = t.IsSpecial,
            });
        return arr;
    }

    private static (int Q, int K) ThumbDims(AttentionStack s) => (Math.Min(s.Queries, ThumbSize), Math.Min(s.Keys, ThumbSize));

    /// <summary>
    /// Where a stack's norm-based attention comes from: the capture's own analysis (<c>attnscope analyze</c>, which
    /// may have carried the values through the output projection), else the stack's value vectors
    /// (‖α_ij v_j‖ = α_ij ‖v_j‖, what <c>NormAttention.Compute</c> gives without an output projection); null when the
    /// capture has neither.
    /// </summary>
    public (string Source, string Vectors)? NormSource(string stack)
    {
        if (!Capture.Stacks.TryGetValue(stack, out var s)) return null;
        if (AttnScope.Analyses.Results.NormAttentionResult.From(Capture, stack) is { } n) return ("analysis", n.Vectors);
        return s.Value is { Rank: 4 } v && v.Shape[0] == s.Layers && v.Shape[1] == s.Heads && v.Shape[2] == s.Keys ? ("value", "value") : null;
    }

    /// <summary>One layer (all heads) or one head of a stack's norm-based attention, [heads?, queries, keys].</summary>
    private float[] NormValues(AttentionStack s, int layer, int head)
    {
        int q = s.Queries, k = s.Keys, first = head < 0 ? 0 : head, count = head < 0 ? s.Heads : 1;
        var result = new float[(long)count * q * k];
        if (AttnScope.Analyses.Results.NormAttentionResult.From(Capture, s.Name) is { } stored)
        {
            (head < 0 ? stored.Norms.Slice(layer) : stored.Norms.Slice(layer, head)).CopyTo(result);
            return result;
        }
        var v = s.Value!;
        int dh = v.Shape[3];
        var size = new float[k];
        for (int h = first; h < first + count; h++)
        {
            var vh = v.Slice(layer, h);
            for (int j = 0; j < k; j++)
            {
                double sum = 0;
                foreach (var x in vh.Slice(j * dh, dh)) sum += (double)x * x;
                size[j] = (float)Math.Sqrt(sum);
            }
            var a = s.Attention.Slice(layer, h);
            var dst = result.AsSpan((h - first) * q * k, q * k);
            for (int i = 0; i < q; i++)
                System.Numerics.Tensors.TensorPrimitives.Multiply(a.Slice(i * k, k), size, dst.Slice(i * k, k));
        }
        return result;
    }

    /// <summary>Names of every section this capture has.</summary>
    public IEnumerable<string> SectionNames(bool includeExact, bool includeNorm = true)
    {
        foreach (var name in AttentionStack.Names)
        {
            if (!Capture.Stacks.TryGetValue(name, out var s)) continue;
            for (int l = 0; l < s.Layers; l++)
            {
                yield return $"att/{name}/{l}";
                yield return $"thumb/{name}/{l}";
                for (int h = 0; h < s.Heads; h++)
                {
                    if (includeExact) yield return $"exact/{name}/{l}/{h}";
                    if (s.Query is not null && s.Key is not null) yield return $"qk/{name}/{l}/{h}";
                }
                if (!includeNorm || NormSource(name) is null) continue;
                yield return $"norm/{name}/{l}";
                if (includeExact)
                    for (int h = 0; h < s.Heads; h++) yield return $"normx/{name}/{l}/{h}";
            }
        }
        foreach (var n in AnalysisData.SectionNames(Capture, includeExact)) yield return n;
    }

    /// <summary>The bytes of one section; an unknown or malformed name is a user error (the server answers 404).</summary>
    public byte[] Section(string section)
    {
        var parts = section.Split('/');
        if (AnalysisData.Handles(parts)) return AnalysisData.Section(Capture, parts) ?? throw Unknown(section);
        if (parts.Length is < 3 or > 4) throw Unknown(section);
        if (!Capture.Stacks.TryGetValue(parts[1], out var s)) throw Unknown(section);
        if (!int.TryParse(parts[2], System.Globalization.NumberStyles.None, null, out var layer) || layer >= s.Layers) throw Unknown(section);
        int head = -1;
        if (parts.Length == 4 && (!int.TryParse(parts[3], System.Globalization.NumberStyles.None, null, out head) || head >= s.Heads))
            throw Unknown(section);
        return (parts[0], parts.Length) switch
        {
            ("att", 3) => Quantized(s, layer),
            ("thumb", 3) => Thumbs(s, layer),
            ("exact", 4) => Floats(s.Attention.Slice(layer, head)),
            ("norm", 3) when NormSource(s.Name) is not null => Quantize(NormValues(s, layer, -1), s.Heads * s.Queries, s.Keys),
            ("normx", 4) when NormSource(s.Name) is not null => Floats(NormValues(s, layer, head)),
            ("qk", 4) when s.Query is not null && s.Key is not null => Concat(s.Query.Slice(layer, head), s.Key.Slice(layer, head)),
            _ => throw Unknown(section),
        };
    }

    /// <summary>
    /// The length in bytes of a section, from the shapes where that is simple (attention, thumbnails, exact values,
    /// queries and keys, norms), else by making it (the analyses' sections, which are small). The offline page
    /// declares every section's offset before it writes the first, and checks each length as it writes.
    /// </summary>
    public long SectionLength(string section)
    {
        var parts = section.Split('/');
        if (parts.Length is 3 or 4 && Capture.Stacks.TryGetValue(parts[1], out var s))
        {
            long rows = (long)s.Heads * s.Queries;
            switch (parts[0], parts.Length)
            {
                case ("att", 3):
                case ("norm", 3):
                    return rows * 4 + rows * s.Keys;
                case ("thumb", 3):
                    var (tq, tk) = ThumbDims(s);
                    return (long)s.Heads * tq * tk;
                case ("exact", 4):
                case ("normx", 4):
                    return 4L * s.Queries * s.Keys;
                case ("qk", 4) when s.Query is not null && s.Key is not null:
                    return 4L * (s.Query.Shape[2] * s.Query.Shape[3] + s.Key.Shape[2] * s.Key.Shape[3]);
            }
        }
        return Section(section).LongLength;
    }

    private static SectionNotFoundException Unknown(string section) => new($"no section '{section}' in this capture");

    private static byte[] Quantized(AttentionStack s, int layer) => Quantize(s.Attention.Slice(layer), s.Heads * s.Queries, s.Keys);

    /// <summary>Rows of k values as float32 row maxima, then each value as a byte of its row's maximum.</summary>
    internal static byte[] Quantize(ReadOnlySpan<float> data, int rows, int k)
    {
        var bytes = new byte[rows * 4 + rows * k];
        var scales = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(0, rows * 4));
        for (int r = 0; r < rows; r++)
        {
            var row = data.Slice(r * k, k);
            float max = 0;
            foreach (var v in row) max = Math.Max(max, v);
            scales[r] = max;
            var dst = bytes.AsSpan(rows * 4 + r * k, k);
            float f = max > 0 ? 255f / max : 0;
            for (int j = 0; j < k; j++) dst[j] = (byte)Math.Min(255, (int)(row[j] * f + 0.5f));
        }
        return bytes;
    }

    private static byte[] Thumbs(AttentionStack s, int layer)
    {
        var (tq, tk) = ThumbDims(s);
        var bytes = new byte[s.Heads * tq * tk];
        var pooled = new float[tq * tk];
        for (int h = 0; h < s.Heads; h++)
        {
            Array.Clear(pooled);
            var m = s.Attention.Slice(layer, h);
            for (int q = 0; q < s.Queries; q++)
            {
                int pq = (int)((long)q * tq / s.Queries);
                for (int k = 0; k < s.Keys; k++)
                {
                    int idx = pq * tk + (int)((long)k * tk / s.Keys);
                    pooled[idx] = Math.Max(pooled[idx], m[q * s.Keys + k]);
                }
            }
            float max = pooled.Max();
            float f = max > 0 ? 255f / max : 0;
            for (int i = 0; i < pooled.Length; i++) bytes[h * tq * tk + i] = (byte)Math.Min(255, (int)(pooled[i] * f + 0.5f));
        }
        return bytes;
    }

    private static byte[] Floats(ReadOnlySpan<float> values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray();

    private static byte[] Concat(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var bytes = new byte[(a.Length + b.Length) * 4];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(a).CopyTo(bytes);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(b).CopyTo(bytes.AsSpan(a.Length * 4));
        return bytes;
    }
}

/// <summary>A section name that names nothing in the capture.</summary>
internal sealed class SectionNotFoundException(string message) : AttnScopeException(message);
