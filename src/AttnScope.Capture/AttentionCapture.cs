using System.Runtime.Intrinsics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Capture.SafeTensors;

namespace AttnScope.Capture;

/// <summary>
/// The one data model of AttnScope: tokens, attention stacks and metadata. Every source produces it, every
/// analysis and view consumes it. Saved as safetensors; see docs/capture-format.md.
/// </summary>
public sealed class AttentionCapture
{
    /// <summary>Who made the capture and from what input: model, architecture, engine, texts, warnings.</summary>
    public CaptureMetadata Metadata { get; }
    /// <summary>Input tokens (encoder side): queries and keys of <c>encoder</c>, keys of <c>cross</c>.</summary>
    public IReadOnlyList<CaptureToken> Tokens { get; }
    /// <summary>Output tokens (decoder side) for encoder-decoder and decoder models; empty otherwise.</summary>
    public IReadOnlyList<CaptureToken> TargetTokens { get; }
    /// <summary>The attention stacks by name: <c>encoder</c>, <c>decoder</c> and/or <c>cross</c> (see <see cref="AttentionStack"/>).</summary>
    public IReadOnlyDictionary<string, AttentionStack> Stacks { get; }
    /// <summary>Analysis results kept with the capture, by name (e.g. <c>encoder.rollout</c>); see <see cref="CaptureAnalysis"/>.</summary>
    public IReadOnlyDictionary<string, CaptureAnalysis> Analyses { get; }

    /// <summary>Builds a capture and checks it: each stack's shape matches its tokens, attention values are probabilities, optional parts have matching shapes.</summary>
    /// <param name="metadata">Who made it and from what input.</param>
    /// <param name="tokens">The input (encoder-side) tokens.</param>
    /// <param name="stacks">At least one attention stack, each name at most once.</param>
    /// <param name="targetTokens">The output (decoder-side) tokens of an encoder-decoder model; none otherwise.</param>
    /// <param name="analyses">Analysis results to keep with the capture, each name at most once.</param>
    /// <exception cref="AttnScopeException">The parts do not fit together; the message says how.</exception>
    public AttentionCapture(CaptureMetadata metadata, IReadOnlyList<CaptureToken> tokens,
        IEnumerable<AttentionStack> stacks, IReadOnlyList<CaptureToken>? targetTokens = null,
        IEnumerable<CaptureAnalysis>? analyses = null)
    {
        Metadata = metadata;
        Tokens = tokens;
        TargetTokens = targetTokens ?? [];
        var dict = new Dictionary<string, AttentionStack>(StringComparer.Ordinal);
        foreach (var s in stacks)
        {
            if (!dict.TryAdd(s.Name, s)) throw new AttnScopeException($"stack '{s.Name}' given twice");
        }
        if (dict.Count == 0) throw new AttnScopeException("a capture needs at least one attention stack");
        Stacks = dict;
        var an = new SortedDictionary<string, CaptureAnalysis>(StringComparer.Ordinal);
        foreach (var a in analyses ?? [])
            if (!an.TryAdd(a.Name, a)) throw new AttnScopeException($"analysis '{a.Name}' given twice");
        Analyses = an;
        Validate();
    }

    /// <summary>
    /// The same capture with analyses added; one with the name of an existing analysis replaces it. Tokens, stacks and
    /// metadata are shared, not copied.
    /// </summary>
    public AttentionCapture WithAnalyses(IEnumerable<CaptureAnalysis> added)
    {
        var merged = new Dictionary<string, CaptureAnalysis>(Analyses, StringComparer.Ordinal);
        foreach (var a in added) merged[a.Name] = a;
        return new AttentionCapture(Metadata, Tokens, Stacks.Values, TargetTokens, merged.Values);
    }

    /// <summary>The analysis of that name, or null.</summary>
    public CaptureAnalysis? Analysis(string name) => Analyses.GetValueOrDefault(name);

    /// <summary>The stack of that name (<see cref="AttentionStack.Encoder"/>, <see cref="AttentionStack.Decoder"/> or <see cref="AttentionStack.Cross"/>).</summary>
    /// <exception cref="AttnScopeException">The capture has no such stack.</exception>
    public AttentionStack Stack(string name) =>
        Stacks.TryGetValue(name, out var s) ? s
        : throw new AttnScopeException($"the capture has no '{name}' stack (it has: {string.Join(", ", Stacks.Keys)})");

    /// <summary>Query-side and key-side tokens of a stack.</summary>
    public (IReadOnlyList<CaptureToken> Queries, IReadOnlyList<CaptureToken> Keys) AxisTokens(string stack) => stack switch
    {
        AttentionStack.Encoder => (Tokens, Tokens),
        AttentionStack.Decoder => (TargetTokens.Count > 0 ? TargetTokens : Tokens, TargetTokens.Count > 0 ? TargetTokens : Tokens),
        AttentionStack.Cross => (TargetTokens, Tokens),
        _ => throw new AttnScopeException($"unknown stack '{stack}'"),
    };

    private void Validate()
    {
        foreach (var s in Stacks.Values)
        {
            var (q, k) = AxisTokens(s.Name);
            if (s.Queries != q.Count || s.Keys != k.Count)
                throw new AttnScopeException(
                    $"{s.Name}.attention has shape {s.Attention.ShapeText} but the capture has {q.Count} query and {k.Count} key tokens");
            if (s.Layers < 1 || s.Heads < 1) throw new AttnScopeException($"{s.Name}.attention has no layers or heads: {s.Attention.ShapeText}");
            CaptureLimits.CheckStack(s.Name, s.Layers, s.Heads, s.Queries, s.Keys);
            // a stack read from a file was checked block by block as it was read (SliceRanges says so)
            if (s.Attention.SliceRanges is null && FirstNonProbability(s.Attention.Data) is { } bad)
                throw new AttnScopeException($"{s.Name}.attention holds {s.Attention.Data[bad]}, not a probability");
            CheckPart(s, "query", s.Query, q.Count);
            CheckPart(s, "key", s.Key, k.Count);
            CheckPart(s, "value", s.Value, k.Count);
            if (s.Scores is { } sc && !sc.Shape.SequenceEqual(s.Attention.Shape))
                throw new AttnScopeException($"{s.Name}.scores has shape {sc.ShapeText}, expected {s.Attention.ShapeText}");
        }
    }

    /// <summary>The index of the first value that is not a probability (NaN, infinite, negative or over 1.0001), or null.
    /// Four values at a time: a NaN fails both comparisons, so it is caught with the out-of-range values.</summary>
    private static int? FirstNonProbability(float[] data)
    {
        // a large stack (tens of MB) is checked in pieces on every core; the first bad value of the first bad piece wins
        const int piece = 1 << 20;
        int pieces = data.Length / piece;
        if (pieces < 2 || Environment.ProcessorCount < 2) return FirstNonProbability(data.AsSpan());
        var firstBad = new int[pieces];
        Parallel.For(0, pieces, i =>
        {
            int from = (int)((long)data.Length * i / pieces), to = (int)((long)data.Length * (i + 1) / pieces);
            firstBad[i] = FirstNonProbability(data.AsSpan(from, to - from)) is { } bad ? from + bad : -1;
        });
        foreach (var bad in firstBad)
            if (bad >= 0) return bad;
        return null;
    }

    private static int? FirstNonProbability(ReadOnlySpan<float> data)
    {
        var (bad, _, _) = CheckProbabilities(data);
        return bad < 0 ? null : bad;
    }

    /// <summary>
    /// One pass over <paramref name="data"/>: the index of the first value that is not a probability (NaN, infinite,
    /// negative or over 1.0001; -1 if none), and the smallest and largest value (meaningful only when none is bad).
    /// Four values at a time: a NaN fails both comparisons, so it is caught with the out-of-range values.
    /// </summary>
    internal static (int FirstBad, float Min, float Max) CheckProbabilities(ReadOnlySpan<float> data)
    {
        int i = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        // 128-bit vectors: code the ahead-of-time compiled tool can carry precompiled (the check is bound by memory
        // speed, not by the vector width)
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated && data.Length >= 4)
        {
            var lo = System.Runtime.Intrinsics.Vector128<float>.Zero;
            var hi = System.Runtime.Intrinsics.Vector128.Create(1.0001f);
            var vmin = System.Runtime.Intrinsics.Vector128.Create(float.PositiveInfinity);
            var vmax = System.Runtime.Intrinsics.Vector128.Create(float.NegativeInfinity);
            ref float start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data);
            for (; i <= data.Length - 4; i += 4)
            {
                var v = System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref start, (nuint)i);
                var ok = System.Runtime.Intrinsics.Vector128.GreaterThanOrEqual(v, lo) & System.Runtime.Intrinsics.Vector128.LessThanOrEqual(v, hi);
                if (System.Runtime.Intrinsics.Vector128.ExtractMostSignificantBits(ok) != 0xFu) break;
                vmin = System.Runtime.Intrinsics.Vector128.Min(vmin, v);
                vmax = System.Runtime.Intrinsics.Vector128.Max(vmax, v);
            }
            for (int k = 0; k < 4; k++)
            {
                min = MathF.Min(min, vmin[k]);
                max = MathF.Max(max, vmax[k]);
            }
        }
        for (; i < data.Length; i++)
        {
            float x = data[i];
            if (!(x >= 0f && x <= 1.0001f)) return (i, min, max);
            if (x < min) min = x;
            if (x > max) max = x;
        }
        return (-1, min, max);
    }

    /// <summary>
    /// Reads a stack's attention tensor, checking every value and finding each head's range block by block as it
    /// is read (<see cref="FloatTensor.SliceRanges"/>), so that neither the check nor a view scans the values again.
    /// </summary>
    private static FloatTensor ReadAttention(SafeTensorsFile file, string tensorName, Func<string, string> bad, bool halfResolution)
    {
        var shape = file.Entries[tensorName].Shape;
        int rows = shape[2], cols = shape[3];
        int block = rows * cols, blocks = shape[0] * shape[1];
        if (block == 0 || blocks == 0) return file.ReadFloat(tensorName);
        var ranges = new (float Min, float Max)[blocks];
        var firstBad = new int[blocks];
        int halfBlock = (rows + 1) / 2 * ((cols + 1) / 2);
        var half = halfResolution ? GC.AllocateUninitializedArray<float>(checked(halfBlock * blocks)) : null;
        var tensor = file.ReadFloat(tensorName, block, (b, values) =>
        {
            var (badAt, min, max) = half is not null
                ? CheckAndHalve(values, rows, cols, half.AsSpan(b * halfBlock, halfBlock))
                : CheckProbabilities(values);
            firstBad[b] = badAt;
            ranges[b] = (min, max);
        });
        for (int b = 0; b < blocks; b++)
            if (firstBad[b] >= 0)
                throw new AttnScopeException(bad($"{tensorName} holds {tensor.Data[(long)b * block + firstBad[b]]}, not a probability"));
        tensor.SliceRanges = ranges;
        tensor.HalfResolution = half;
        return tensor;
    }

    /// <summary>
    /// <see cref="CheckProbabilities"/> and <see cref="HalfMaxima"/> of one rows × cols matrix in a single pass over
    /// its values, two rows at a time (the values are read once, while they are in cache): the same first bad index,
    /// range and half-resolution maxima. Where a pair of rows holds a bad value, that pair is checked again value by
    /// value, so the index is the first in row-major order.
    /// </summary>
    internal static (int FirstBad, float Min, float Max) CheckAndHalve(ReadOnlySpan<float> m, int rows, int cols, Span<float> half)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            var checkedOnly = CheckProbabilities(m);
            if (checkedOnly.FirstBad < 0) HalfMaxima(m, rows, cols, half);
            return checkedOnly;
        }
        int hc = (cols + 1) / 2;
        var lo = Vector128<float>.Zero;
        var hi = Vector128.Create(1.0001f);
        var vmin = Vector128.Create(float.PositiveInfinity);
        var vmax = Vector128.Create(float.NegativeInfinity);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        ref float start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(m);
        ref float halfStart = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(half);
        for (int r = 0, hr = 0; r < rows; r += 2, hr++)
        {
            int ra = r * cols, rb = r + 1 < rows ? ra + cols : ra;
            int hrow = hr * hc;
            int c = 0;
            bool bad = false;
            for (; c <= cols - 8; c += 8)
            {
                var a0 = Vector128.LoadUnsafe(ref start, (nuint)(ra + c));
                var a1 = Vector128.LoadUnsafe(ref start, (nuint)(ra + c + 4));
                var b0 = Vector128.LoadUnsafe(ref start, (nuint)(rb + c));
                var b1 = Vector128.LoadUnsafe(ref start, (nuint)(rb + c + 4));
                var ok = Vector128.GreaterThanOrEqual(a0, lo) & Vector128.LessThanOrEqual(a0, hi)
                       & Vector128.GreaterThanOrEqual(a1, lo) & Vector128.LessThanOrEqual(a1, hi)
                       & Vector128.GreaterThanOrEqual(b0, lo) & Vector128.LessThanOrEqual(b0, hi)
                       & Vector128.GreaterThanOrEqual(b1, lo) & Vector128.LessThanOrEqual(b1, hi);
                if (Vector128.ExtractMostSignificantBits(ok) != 0xFu) { bad = true; break; }
                var m0 = Vector128.Max(a0, b0);
                var m1 = Vector128.Max(a1, b1);
                vmin = Vector128.Min(vmin, Vector128.Min(Vector128.Min(a0, a1), Vector128.Min(b0, b1)));
                vmax = Vector128.Max(vmax, Vector128.Max(m0, m1));
                // the maximum of each pair of columns: even and odd columns of the eight, then "odd > even ? odd : even"
                var even = System.Runtime.Intrinsics.X86.Sse.Shuffle(m0, m1, 0b10_00_10_00);
                var odd = System.Runtime.Intrinsics.X86.Sse.Shuffle(m0, m1, 0b11_01_11_01);
                System.Runtime.Intrinsics.X86.Sse.Max(odd, even).StoreUnsafe(ref halfStart, (nuint)(hrow + c / 2));
            }
            if (!bad)
                for (; c < cols; c += 2)
                {
                    float a = m[ra + c], b = m[rb + c];
                    if (!(a >= 0f && a <= 1.0001f) || !(b >= 0f && b <= 1.0001f)) { bad = true; break; }
                    float p = MathF.Max(a, b);
                    min = MathF.Min(min, MathF.Min(a, b));
                    max = MathF.Max(max, p);
                    if (c + 1 < cols)
                    {
                        float a2 = m[ra + c + 1], b2 = m[rb + c + 1];
                        if (!(a2 >= 0f && a2 <= 1.0001f) || !(b2 >= 0f && b2 <= 1.0001f)) { bad = true; break; }
                        float p2 = MathF.Max(a2, b2);
                        min = MathF.Min(min, MathF.Min(a2, b2));
                        max = MathF.Max(max, p2);
                        p = p2 > p ? p2 : p;
                    }
                    half[hrow + c / 2] = p;
                }
            if (bad)
            {
                for (int i = ra; i < ra + cols; i++)
                    if (!(m[i] >= 0f && m[i] <= 1.0001f)) return (i, min, max);
                for (int i = rb; i < rb + cols; i++)
                    if (!(m[i] >= 0f && m[i] <= 1.0001f)) return (i, min, max);
            }
        }
        for (int k = 0; k < 4; k++)
        {
            min = MathF.Min(min, vmin[k]);
            max = MathF.Max(max, vmax[k]);
        }
        return (-1, min, max);
    }

    /// <summary>The maximum of every 2 × 2 block of a rows × cols matrix (the last row / column alone when odd).</summary>
    internal static void HalfMaxima(ReadOnlySpan<float> m, int rows, int cols, Span<float> half)
    {
        int hc = (cols + 1) / 2;
        Span<float> pair = cols <= 4096 ? stackalloc float[cols] : new float[cols];
        for (int r = 0, hr = 0; r < rows; r += 2, hr++)
        {
            var a = m.Slice(r * cols, cols);
            if (r + 1 < rows)
            {
                var b = m.Slice((r + 1) * cols, cols);
                int i = 0;
                ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
                ref float pb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
                ref float pp = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(pair);
                for (; i <= cols - 4; i += 4)
                    Vector128.Max(Vector128.LoadUnsafe(ref pa, (nuint)i), Vector128.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref pp, (nuint)i);
                for (; i < cols; i++) pair[i] = MathF.Max(a[i], b[i]);
            }
            else a.CopyTo(pair);
            var dst = half.Slice(hr * hc, hc);
            for (int c = 0; c + 1 < cols; c += 2) dst[c >> 1] = pair[c + 1] > pair[c] ? pair[c + 1] : pair[c];
            if ((cols & 1) != 0) dst[hc - 1] = pair[cols - 1];
        }
    }

    private static void CheckPart(AttentionStack s, string part, FloatTensor? t, int tokens)
    {
        if (t is null) return;
        if (t.Rank != 4 || t.Shape[0] != s.Layers || t.Shape[1] != s.Heads || t.Shape[2] != tokens)
            throw new AttnScopeException(
                $"{s.Name}.{part} has shape {t.ShapeText}, expected [{s.Layers}, {s.Heads}, {tokens}, head_dim]");
    }

    // ---------------------------------------------------------------- file format

    /// <summary>Writes the capture as a safetensors file (docs/capture-format.md), whole or not at all.</summary>
    /// <param name="path">The file to write.</param>
    public void Save(string path) => SafeTensorsFile.Write(path, TensorList(), MetadataStrings());

    /// <summary>The capture as the bytes of a safetensors file (what <see cref="Save"/> writes).</summary>
    public byte[] ToBytes() => SafeTensorsFile.Serialize(TensorList(), MetadataStrings());

    private IEnumerable<(string, FloatTensor)> TensorList()
    {
        foreach (var name in AttentionStack.Names)
        {
            if (!Stacks.TryGetValue(name, out var s)) continue;
            yield return ($"{name}.attention", s.Attention);
            foreach (var part in AttentionStack.OptionalParts)
                if (s.Part(part) is { } t) yield return ($"{name}.{part}", t);
        }
        foreach (var a in Analyses.Values) yield return (CaptureAnalysis.TensorPrefix + a.Name, a.Tensor);
    }

    private Dictionary<string, string> MetadataStrings()
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in Metadata.Extra) m[kv.Key] = kv.Value;
        m["format"] = CaptureMetadata.FormatId;
        m["model"] = Metadata.ModelId;
        m["architecture"] = Metadata.Architecture;
        m["source"] = Metadata.Source;
        m["texts"] = JsonSerializer.Serialize(Metadata.Texts);
        m["warnings"] = JsonSerializer.Serialize(Metadata.Warnings);
        m["tokens"] = TokensJson(Tokens);
        if (TargetTokens.Count > 0) m["target_tokens"] = TokensJson(TargetTokens);
        if (Analyses.Count > 0)
        {
            var info = new JsonObject();
            foreach (var a in Analyses.Values) info[a.Name] = a.Info.DeepClone();
            m[CaptureAnalysis.MetadataKey] = info.ToJsonString();
        }
        return m;
    }

    private static readonly HashSet<string> ReservedKeys = ["format", "model", "architecture", "source", "texts", "warnings", "tokens", "target_tokens", CaptureAnalysis.MetadataKey];

    /// <summary>The <c>tokens</c> metadata value: a JSON list of token objects (docs/capture-format.md).</summary>
    public static string TokensJson(IReadOnlyList<CaptureToken> tokens)
    {
        var arr = new JsonArray();
        foreach (var t in tokens)
            arr.Add(new JsonObject
            {
                ["text"] = t.Text,
                ["id"] = t.Id,
                ["start"] = t.Start,
                ["end"] = t.End,
                ["segment"] = t.Segment == Segment.A ? "A" : "B",
                ["special"] = t.IsSpecial,
            });
        return arr.ToJsonString();
    }

    /// <summary>Reads a capture saved by <see cref="Save"/> (or by <c>attnscope capture</c>).</summary>
    /// <param name="path">The safetensors file.</param>
    /// <exception cref="AttnScopeException">The file is missing or is not a valid AttnScope capture; the message says why.</exception>
    public static AttentionCapture Load(string path) => Load(path, halfResolution: false);

    /// <summary>Reads a capture; with <paramref name="halfResolution"/>, each attention head is also kept at half
    /// resolution (<see cref="FloatTensor.HalfResolution"/>, a quarter more memory) for overview figures.</summary>
    internal static AttentionCapture Load(string path, bool halfResolution)
    {
        using var file = SafeTensorsFile.Open(path);
        return FromFile(file, halfResolution);
    }

    /// <summary>Reads a capture from the bytes of a safetensors file (what <see cref="ToBytes"/> returns).</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="name">What to call the input in error messages.</param>
    /// <exception cref="AttnScopeException">The bytes are not a valid AttnScope capture.</exception>
    public static AttentionCapture FromBytes(byte[] bytes, string name = "<memory>") => FromFile(SafeTensorsFile.Parse(bytes, name));

    private static AttentionCapture FromFile(SafeTensorsFile file, bool halfResolution = false)
    {
        StartupTrace.Mark("header parsed");
        string src = file.SourceName;
        string Bad(string why) => $"'{src}' is not a valid AttnScope capture: {why}";
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var fmt))
            throw new AttnScopeException(Bad("no 'format' in its metadata (is this a model weights file rather than a capture?)"));
        if (fmt != CaptureMetadata.FormatId)
            throw new AttnScopeException(Bad($"format '{fmt}' is not supported (this version reads {CaptureMetadata.FormatId})"));
        if (!meta.TryGetValue("tokens", out var tokJson)) throw new AttnScopeException(Bad("no 'tokens' in its metadata"));

        // Every tensor's name, dtype and shape is checked before any is read: a small file must not declare a shape
        // that views cannot afford.
        var analysisEntries = new List<SafeTensorsEntry>();
        foreach (var entry in file.Entries.Values)
        {
            if (entry.Name.StartsWith(CaptureAnalysis.TensorPrefix, StringComparison.Ordinal))
            {
                if (entry.DType != "F32") throw new AttnScopeException(Bad($"tensor '{entry.Name}' has dtype {entry.DType}, expected F32"));
                analysisEntries.Add(entry);
                continue;
            }
            var dot = entry.Name.IndexOf('.');
            var stack = dot < 0 ? entry.Name : entry.Name[..dot];
            var part = dot < 0 ? "" : entry.Name[(dot + 1)..];
            if (Array.IndexOf(AttentionStack.Names, stack) < 0 || (part != "attention" && Array.IndexOf(AttentionStack.OptionalParts, part) < 0))
                throw new AttnScopeException(Bad($"unexpected tensor '{entry.Name}'"));
            if (entry.DType != "F32") throw new AttnScopeException(Bad($"tensor '{entry.Name}' has dtype {entry.DType}, expected F32"));
            if (entry.Shape.Length != 4) throw new AttnScopeException(Bad($"tensor '{entry.Name}' has shape [{string.Join(", ", entry.Shape)}], expected 4 dimensions"));
            if (part == "attention")
            {
                try { CaptureLimits.CheckStack(stack, entry.Shape[0], entry.Shape[1], entry.Shape[2], entry.Shape[3]); }
                catch (AttnScopeException e) { throw new AttnScopeException(Bad(e.Message)); }
            }
        }
        foreach (var name in AttentionStack.Names)
            if (!file.Contains($"{name}.attention"))
                foreach (var part in AttentionStack.OptionalParts)
                    if (file.Contains($"{name}.{part}")) throw new AttnScopeException(Bad($"'{name}.{part}' present without '{name}.attention'"));

        // The stacks (nearly all of the file) are read on other threads while this one parses the token lists and the
        // metadata; whatever fails first here is reported, after the reading has stopped touching the file.
        var reading = Task.Run(() =>
        {
            var read = new List<AttentionStack>();
            foreach (var name in AttentionStack.Names)
            {
                if (!file.Contains($"{name}.attention")) continue;
                FloatTensor? Opt(string part) => file.Contains($"{name}.{part}") ? file.ReadFloat($"{name}.{part}") : null;
                read.Add(new AttentionStack(name, ReadAttention(file, $"{name}.attention", Bad, halfResolution))
                {
                    Query = Opt("query"), Key = Opt("key"), Value = Opt("value"), Scores = Opt("scores"),
                });
            }
            return read;
        });
        List<CaptureToken> tokens, target;
        List<CaptureAnalysis> analyses;
        try
        {
            tokens = ParseTokens(tokJson, "tokens", Bad);
            target = meta.TryGetValue("target_tokens", out var tj) ? ParseTokens(tj, "target_tokens", Bad) : [];
            StartupTrace.Mark("tokens parsed");
            var analysisInfo = ParseAnalysisInfo(meta, Bad);
            analyses = new List<CaptureAnalysis>(analysisEntries.Count);
            foreach (var entry in analysisEntries)
            {
                var aname = entry.Name[CaptureAnalysis.TensorPrefix.Length..];
                try
                {
                    analyses.Add(new CaptureAnalysis(aname, file.ReadFloat(entry.Name), analysisInfo.GetValueOrDefault(aname)));
                }
                catch (AttnScopeException e)
                {
                    throw new AttnScopeException(Bad(e.Message));
                }
            }
        }
        catch
        {
            try { reading.Wait(); } catch (AggregateException) { /* this thread's error is the one reported */ }
            throw;
        }
        var stacks = reading.GetAwaiter().GetResult();
        StartupTrace.Mark("tensors read");
        if (stacks.Count == 0) throw new AttnScopeException(Bad("it holds no attention tensor (expected encoder.attention, decoder.attention or cross.attention)"));

        var extra = new Dictionary<string, string>();
        foreach (var kv in meta)
            if (!ReservedKeys.Contains(kv.Key)) extra[kv.Key] = kv.Value;
        var metadata = new CaptureMetadata
        {
            ModelId = meta.GetValueOrDefault("model", ""),
            Architecture = meta.GetValueOrDefault("architecture", ""),
            Source = meta.GetValueOrDefault("source", ""),
            Texts = ParseStrings(meta.GetValueOrDefault("texts", "[]"), "texts", Bad),
            Warnings = ParseStrings(meta.GetValueOrDefault("warnings", "[]"), "warnings", Bad),
            Extra = extra,
        };
        try
        {
            return new AttentionCapture(metadata, tokens, stacks, target, analyses);
        }
        catch (AttnScopeException e)
        {
            throw new AttnScopeException(Bad(e.Message));
        }
    }

    private static Dictionary<string, JsonObject> ParseAnalysisInfo(IReadOnlyDictionary<string, string> meta, Func<string, string> bad)
    {
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        if (!meta.TryGetValue(CaptureAnalysis.MetadataKey, out var json)) return result;
        try
        {
            var obj = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false }) as JsonObject
                ?? throw new JsonException("not an object");
            foreach (var kv in obj)
                result[kv.Key] = kv.Value as JsonObject ?? throw new JsonException($"entry '{kv.Key}' is not an object");
            foreach (var info in result.Values) ReadAllText(info);
            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new AttnScopeException(bad($"metadata '{CaptureAnalysis.MetadataKey}' is not a JSON object of objects ({e.Message})"));
        }
    }

    /// <summary>Reads every name and string of a parsed tree once, so text that is not valid (an escaped lone
    /// surrogate) is found while the file is read, not later by a view.</summary>
    private static void ReadAllText(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var kv in o) ReadAllText(kv.Value);
                break;
            case JsonArray a:
                foreach (var item in a) ReadAllText(item);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                v.GetValue<string>();
                break;
        }
    }

    internal static List<string> ParseStrings(string json, string key, Func<string, string> bad)
    {
        try
        {
            // A reader rather than the reflection-based serializer, whose first use costs some 20 ms of a
            // command's start-up (measured on `render`).
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new JsonException("not an array");
            var list = new List<string>(doc.RootElement.GetArrayLength());
            foreach (var item in doc.RootElement.EnumerateArray())
                list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new JsonException("not a string"));
            return list;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new AttnScopeException(bad($"metadata '{key}' is not a JSON list of strings"));
        }
    }

    internal static List<CaptureToken> ParseTokens(string json, string key, Func<string, string> bad, int maxTokens = CaptureLimits.MaxTokens)
    {
        try
        {
            // JsonDocument rather than JsonNode: the same checks (duplicate names refused, every field's kind), with
            // less to load at start-up (the capture's header was just read with it)
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            var arr = doc.RootElement;
            if (arr.ValueKind != JsonValueKind.Array) throw new JsonException("not an array");
            int count = arr.GetArrayLength();
            if (count > maxTokens)
                throw new AttnScopeException(bad($"metadata '{key}' lists {count} tokens, more than the {maxTokens} AttnScope reads"));
            var list = new List<CaptureToken>(count);
            foreach (var o in arr.EnumerateArray())
            {
                if (o.ValueKind != JsonValueKind.Object) throw new JsonException("token is not an object");
                var seg = Field(o, "segment") is { } sv ? sv.GetString()! : "A";
                if (seg != "A" && seg != "B") throw new JsonException($"segment '{seg}'");
                list.Add(new CaptureToken(
                    Field(o, "text")?.GetString() ?? throw new JsonException("token without text"),
                    Field(o, "id")?.GetInt32() ?? -1,
                    Field(o, "start")?.GetInt32() ?? -1,
                    Field(o, "end")?.GetInt32() ?? -1,
                    seg == "A" ? Segment.A : Segment.B,
                    Field(o, "special")?.GetBoolean() ?? false));
            }
            return list;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new AttnScopeException(bad($"metadata '{key}' is not a valid token list ({e.Message})"));
        }
    }

    /// <summary>A property's value, or null when it is missing or JSON null.</summary>
    private static JsonElement? Field(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
}
