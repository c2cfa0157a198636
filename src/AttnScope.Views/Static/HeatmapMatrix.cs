using AttnScope.Capture;

namespace AttnScope.Views.Static;

/// <summary>
/// The queries × keys matrix one heatmap shows, with its axis tokens: one head of one layer, or the mean / max
/// over the heads of a layer, possibly restricted to a <see cref="TokenSelection"/>.
/// </summary>
internal sealed class HeatmapMatrix
{
    public string Stack { get; }
    public int Layer { get; }
    public HeadSelection Heads { get; }
    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Row-major values, Rows × Cols (a view of the capture's tensor when nothing was selected or combined).</summary>
    public ReadOnlyMemory<float> Data { get; }
    private float[]? _values;
    /// <summary>Row-major values, Rows × Cols, as an array (copied from <see cref="Data"/> on first use when it is a view).</summary>
    public float[] Values => _values ??= Data.ToArray();
    public IReadOnlyList<CaptureToken> RowTokens { get; }
    public IReadOnlyList<CaptureToken> ColumnTokens { get; }
    /// <summary>Largest value in the matrix (0 when empty or all negative).</summary>
    public float MaxValue { get; }
    /// <summary>Smallest value in the matrix (0 when empty or all positive).</summary>
    public float MinValue { get; }
    /// <summary>Which values: <see cref="ValueKind.Attention"/> or <see cref="ValueKind.Scores"/>.</summary>
    public string Kind { get; init; } = ValueKind.Attention;
    /// <summary>Rows shown (the leading ones; the rest are blank: a step that has not computed them yet).</summary>
    public int VisibleRows { get; init; } = int.MaxValue;
    /// <summary>Columns shown (the leading ones; the rest are blank).</summary>
    public int VisibleColumns { get; init; } = int.MaxValue;
    /// <summary>"head 5", or "head 5 (kv 2)" for grouped-query attention; null: <see cref="Heads"/> as text.</summary>
    public string? HeadLabel { get; init; }
    /// <summary>What was left out (token window, pair filter, hidden special tokens), for titles.</summary>
    public IReadOnlyList<string> SelectionNotes { get; init; } = [];

    /// <summary>The matrix at half resolution (each value the maximum of a 2 × 2 block of <see cref="Data"/>,
    /// ⌈Rows / 2⌉ × ⌈Cols / 2⌉), when the capture was loaded with it (<see cref="FloatTensor.HalfResolution"/>); else empty.</summary>
    public ReadOnlyMemory<float> HalfResolution { get; init; }

    public HeatmapMatrix(string stack, int layer, HeadSelection heads, float[] values,
        IReadOnlyList<CaptureToken> rowTokens, IReadOnlyList<CaptureToken> columnTokens)
        : this(stack, layer, heads, (ReadOnlyMemory<float>)values, rowTokens, columnTokens)
    {
        _values = values;
    }

    public HeatmapMatrix(string stack, int layer, HeadSelection heads, ReadOnlyMemory<float> data,
        IReadOnlyList<CaptureToken> rowTokens, IReadOnlyList<CaptureToken> columnTokens)
        : this(stack, layer, heads, data, rowTokens, columnTokens, null)
    {
    }

    /// <param name="range">The values' smallest and largest value when already known (a head's range found as the
    /// capture was read), else null to scan them.</param>
    private HeatmapMatrix(string stack, int layer, HeadSelection heads, ReadOnlyMemory<float> data,
        IReadOnlyList<CaptureToken> rowTokens, IReadOnlyList<CaptureToken> columnTokens, (float Min, float Max)? range)
    {
        if (data.Length != rowTokens.Count * columnTokens.Count)
            throw new ArgumentException($"{data.Length} values for {rowTokens.Count} × {columnTokens.Count} tokens");
        Stack = stack; Layer = layer; Heads = heads; Data = data;
        RowTokens = rowTokens; ColumnTokens = columnTokens;
        Rows = rowTokens.Count; Cols = columnTokens.Count;
        (MinValue, MaxValue) = range is { } r ? (MathF.Min(0, r.Min), MathF.Max(0, r.Max)) : MinMax(data.Span);
    }

    /// <summary>Smallest and largest value, each clamped towards 0 (vectorised: grid views scan every head).</summary>
    private static (float Min, float Max) MinMax(ReadOnlySpan<float> v)
    {
        var vmin = System.Runtime.Intrinsics.Vector128<float>.Zero;
        var vmax = System.Runtime.Intrinsics.Vector128<float>.Zero;
        int i = 0;
        ref float p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(v);
        for (; i <= v.Length - 4; i += 4)
        {
            var x = System.Runtime.Intrinsics.Vector128.LoadUnsafe(ref p, (nuint)i);
            vmin = System.Runtime.Intrinsics.Vector128.Min(vmin, x);
            vmax = System.Runtime.Intrinsics.Vector128.Max(vmax, x);
        }
        float min = 0, max = 0;
        for (int k = 0; k < 4; k++)
        {
            min = MathF.Min(min, vmin[k]);
            max = MathF.Max(max, vmax[k]);
        }
        for (; i < v.Length; i++)
        {
            if (v[i] > max) max = v[i];
            if (v[i] < min) min = v[i];
        }
        return (min, max);
    }

    public float this[int row, int col] => Data.Span[row * Cols + col];

    /// <summary>Selects a layer and head (or aggregates heads) of a stack; out-of-range indices are user errors.</summary>
    public static HeatmapMatrix From(AttentionCapture capture, string stack, int layer, HeadSelection heads) =>
        From(capture, new HeatmapOptions { Stack = stack, Layer = layer, Heads = heads });

    /// <summary>The matrix the options describe: stack, layer, heads, values, token window, pair filter, hidden specials.</summary>
    public static HeatmapMatrix From(AttentionCapture capture, HeatmapOptions o, TokenSelection? selection = null)
    {
        var s = capture.Stack(o.Stack);
        if ((uint)o.Layer >= (uint)s.Layers)
            throw new AttnScopeException($"layer {o.Layer} is out of range: {o.Stack} has {s.Layers} layers (0..{s.Layers - 1})");
        if (o.Heads.Aggregation == HeadAggregation.Single) s.Head(o.Layer, o.Heads.Head); // checks the index, names the range
        var (q, k) = capture.AxisTokens(o.Stack);
        // a translation's cross-attention rows say what each step read and what it produced (as the animations do)
        if (o.Stack == AttentionStack.Cross && capture.TargetTokens.Count > 0) q = TranslationRows.Labels(capture);
        selection ??= TokenSelection.For(q, k, o);
        var m = FromTensor(Tensor(s, o.Values), q, k, o, selection, o.Values);
        var kv = KeyValueHeads.Of(capture.Metadata, s.Heads, o.Stack);
        string? label = kv is not null && o.Heads.Aggregation == HeadAggregation.Single ? KeyValueHeads.HeadName(o.Heads.Head, s.Heads, kv) : null;
        if (label is null && o.RevealRows is null && o.RevealColumns is null) return m;
        return m.With(label,
            o.RevealRows is { } rr ? selection.Rows.Count(i => i < rr) : int.MaxValue,
            o.RevealColumns is { } rc ? selection.Columns.Count(i => i < rc) : int.MaxValue);
    }

    /// <summary>The same values and tokens with a head label and the rows / columns shown.</summary>
    private HeatmapMatrix With(string? headLabel, int visibleRows, int visibleColumns) =>
        new(Stack, Layer, Heads, Data, RowTokens, ColumnTokens, (MinValue, MaxValue))
        {
            Kind = Kind, SelectionNotes = SelectionNotes, HeadLabel = headLabel, VisibleRows = visibleRows, VisibleColumns = visibleColumns,
            HalfResolution = HalfResolution,
        };

    /// <summary>Whether cell (row, col) is shown (not left blank by a step).</summary>
    public bool Visible(int row, int col) => row < VisibleRows && col < VisibleColumns;

    /// <summary>
    /// The matrix the options describe from any [layers, heads, queries, keys] tensor over these tokens (attention,
    /// or an analysis of the same shape such as norm-based attention): layer, head or mean / max of heads, selection.
    /// </summary>
    public static HeatmapMatrix FromTensor(FloatTensor tensor, IReadOnlyList<CaptureToken> q, IReadOnlyList<CaptureToken> k,
        HeatmapOptions o, TokenSelection? selection = null, string kind = ValueKind.Attention)
    {
        if (tensor.Rank != 4 || tensor.Shape[2] != q.Count || tensor.Shape[3] != k.Count)
            throw new AttnScopeException($"a tensor of shape {tensor.ShapeText} does not match {q.Count} query and {k.Count} key tokens");
        int layers = tensor.Shape[0], heads = tensor.Shape[1], queries = tensor.Shape[2], keys = tensor.Shape[3];
        if ((uint)o.Layer >= (uint)layers)
            throw new AttnScopeException($"layer {o.Layer} is out of range: {o.Stack} has {layers} layers (0..{layers - 1})");
        if (o.Heads.Aggregation == HeadAggregation.Single && (uint)o.Heads.Head >= (uint)heads)
            throw new AttnScopeException($"head {o.Heads.Head} is out of range: {o.Stack} has {heads} heads (0..{heads - 1})");
        if (q.Count == 0 || k.Count == 0)
            throw new AttnScopeException($"the {o.Stack} stack has no tokens to draw");
        selection ??= TokenSelection.For(q, k, o);
        int rows = selection.Rows.Length, cols = selection.Columns.Length;
        bool all = selection.IsAll(queries, keys);
        if (all && o.Heads.Aggregation == HeadAggregation.Single)
        {
            // one whole head: a view of the tensor, no copy
            int size = queries * keys;
            int slice = o.Layer * heads + o.Heads.Head;
            var view = new ReadOnlyMemory<float>(tensor.Data, slice * size, size);
            int halfSize = (queries + 1) / 2 * ((keys + 1) / 2);
            return new HeatmapMatrix(o.Stack, o.Layer, o.Heads, view, q, k, tensor.SliceRanges?[slice])
            {
                SelectionNotes = selection.Description, Kind = kind,
                HalfResolution = tensor.HalfResolution is { } half ? new ReadOnlyMemory<float>(half, slice * halfSize, halfSize) : default,
            };
        }
        var values = new float[rows * cols];

        void Gather(int head, Func<float, float, float>? combine)
        {
            var src = tensor.Slice(o.Layer, head);
            if (all && combine is null) { src.CopyTo(values); return; }
            for (int r = 0; r < rows; r++)
            {
                var row = src.Slice(selection.Rows[r] * keys, keys);
                var dst = values.AsSpan(r * cols, cols);
                for (int c = 0; c < cols; c++)
                    dst[c] = combine is null ? row[selection.Columns[c]] : combine(dst[c], row[selection.Columns[c]]);
            }
        }

        switch (o.Heads.Aggregation)
        {
            case HeadAggregation.Single:
                Gather(o.Heads.Head, null);
                break;
            case HeadAggregation.Mean:
                for (int h = 0; h < heads; h++) Gather(h, (a, b) => a + b);
                for (int i = 0; i < values.Length; i++) values[i] /= heads;
                break;
            case HeadAggregation.Max:
                Gather(0, null);
                for (int h = 1; h < heads; h++) Gather(h, Math.Max);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(o));
        }
        var rowTokens = all ? q : selection.Rows.Select(i => q[i]).ToList();
        var colTokens = all ? k : selection.Columns.Select(i => k[i]).ToList();
        return new HeatmapMatrix(o.Stack, o.Layer, o.Heads, values, rowTokens, colTokens) { SelectionNotes = selection.Description, Kind = kind };
    }

    private static FloatTensor Tensor(AttentionStack s, string values) => values switch
    {
        ValueKind.Attention => s.Attention,
        ValueKind.Scores => s.Scores ?? throw new AttnScopeException(
            $"the capture has no pre-softmax scores for the {s.Name} stack (capture with --qkv to record them)"),
        _ => throw new AttnScopeException($"unknown values '{values}' (expected {ValueKind.Attention} or {ValueKind.Scores})"),
    };
}
