using AttnScope.Capture;
using AttnScope.Sources.Audio;

namespace AttnScope.Analyses.Speech;

/// <summary>One word of a transcript placed in time: its tokens (indices into the capture's target tokens) and its span.</summary>
internal sealed record AlignedWord(string Text, int FirstToken, int TokenCount, double Start, double End);

/// <summary>The alignment: the matrix DTW ran on [rows, frames], the monotone path (row, frame) and the words (after the
/// timing heuristics when <see cref="Speech"/>, the detected speech they used, is set).</summary>
internal sealed record SpeechAlignment(float[,] Matrix, IReadOnlyList<(int Row, int Frame)> Path, IReadOnlyList<AlignedWord> Words, int FirstRow,
    IReadOnlyList<(int Layer, int Head)> Heads, SpeechSegments? Speech = null);

/// <summary>
/// Word-to-time alignment from cross-attention, as Whisper's word timestamps (timing.py) do it: the chosen heads'
/// cross-attention over the frames that hold audio, each row renormalised over them (Whisper takes the softmax of the
/// logits cut to those frames); each head z-scored per frame over all decoder rows (population std); a median filter of
/// width 7 along the frames (reflect padding); the mean over heads; the rows from the last prompt token (which predicts
/// the first text token) to the last text token; dynamic time warping on −matrix gives a monotone row → frame path; row r starts at the first frame the path reaches it; a word runs from the start of its first token's row to the
/// start of the row after its last token; each encoder frame is 20 ms. Words are tokens merged until a token that begins
/// with a space, is punctuation, or is special.
/// </summary>
internal static class WordAlignment
{
    public const int MedianWidth = 7;

    /// <summary>The default heads when the model names none: every head of the upper half of the decoder's layers (Whisper's default).</summary>
    public static List<(int, int)> DefaultHeads(int layers, int heads)
    {
        var list = new List<(int, int)>();
        for (int l = layers / 2; l < layers; l++) for (int h = 0; h < heads; h++) list.Add((l, h));
        return list;
    }

    /// <summary>The alignment of a speech capture; with <paramref name="timing"/> (and any heuristic on) the DTW word
    /// times go through <see cref="TimingHeuristics"/> on the speech detected in the capture's log-mel.</summary>
    public static SpeechAlignment Align(AttentionCapture capture, IReadOnlyList<(int Layer, int Head)>? heads = null, TimingOptions? timing = null)
    {
        var layout = SpeechLayout.Require(capture);
        var cross = capture.Stack(AttentionStack.Cross);
        heads ??= layout.AlignmentHeads ?? DefaultHeads(cross.Layers, cross.Heads);
        foreach (var (l, h) in heads)
            if (l < 0 || l >= cross.Layers || h < 0 || h >= cross.Heads)
                throw new AttnScopeException($"alignment head {l},{h} is not in the capture's {cross.Layers} layers × {cross.Heads} heads");
        if (heads.Count == 0) throw new AttnScopeException("no alignment heads");
        var targets = capture.TargetTokens;
        int n = targets.Count, P = layout.PromptLength;
        int end = n; // text tokens: P … end-1 (an EOS at the end is not text)
        if (end > P && targets[end - 1].IsSpecial && IsEndOfText(targets[end - 1].Text)) end--;
        int K = end - P;
        if (K < 1) throw new AttnScopeException("the transcript has no tokens to align");
        int F = layout.AudioFrames(cross.Keys);
        int rows = K + 1, first = P - 1;
        var (matrix, path) = AlignRows(cross.Attention.Data, cross.Heads, n, cross.Keys, F, first, rows, heads);
        var words = Words(targets, P, K, path);
        if (timing is not { Any: true } || words.Count == 0) return new SpeechAlignment(matrix, path, words, first, [.. heads]);
        var speech = SpeechActivity.Detect(layout.Mel, Math.Min(layout.AudioSeconds, F * SpeechLayout.FrameSeconds), timing.Activity);
        var times = TimingHeuristics.Apply(words.Select(w => (w.Start, w.End)).ToList(), speech, timing);
        var adjusted = words.Select((w, i) => w with { Start = times[i].Start, End = times[i].End }).ToList();
        return new SpeechAlignment(matrix, path, adjusted, first, [.. heads], speech);
    }

    /// <summary>
    /// The matrix and DTW path of <see cref="Align"/> from a cross-attention array [layers, heads, n, keys]: rows
    /// <paramref name="first"/> … first + rows − 1 of the mean over <paramref name="heads"/> of each head's rows
    /// renormalised over the first <paramref name="audioFrames"/> frames, z-scored per frame over all n rows and
    /// median-filtered; the path runs over −matrix.
    /// </summary>
    public static (float[,] Matrix, List<(int Row, int Frame)> Path) AlignRows(float[] a, int headCount, int n, int keys, int audioFrames, int first, int rows,
        IReadOnlyList<(int Layer, int Head)> heads)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(heads);
        int F = audioFrames;
        if (heads.Count == 0) throw new AttnScopeException("no alignment heads");
        if (F < 1 || F > keys || first < 0 || rows < 1 || first + rows > n) throw new AttnScopeException($"alignment rows {first}+{rows} of {n}, {F} of {keys} frames");
        var sum = new double[rows, F];
        var buf = new double[n, F];
        foreach (var (l, h) in heads)
        {
            if (l < 0 || h < 0 || h >= headCount || (((long)l * headCount + h + 1) * n * keys) > a.Length)
                throw new AttnScopeException($"alignment head {l},{h} is outside the cross attention");
            for (int r = 0; r < n; r++)
            {
                long at = (((long)l * headCount + h) * n + r) * keys;
                // Whisper takes the softmax over the audio frames only: the captured row renormalised over them.
                double total = 0;
                for (int f = 0; f < F; f++) total += a[at + f];
                for (int f = 0; f < F; f++) buf[r, f] = total > 0 ? a[at + f] / total : 1.0 / F;
            }
            ZScorePerFrame(buf);
            var filtered = MedianFilter(buf, MedianWidth);
            for (int r = 0; r < rows; r++) for (int f = 0; f < F; f++) sum[r, f] += filtered[first + r, f];
        }
        var matrix = new float[rows, F];
        var cost = new double[rows, F];
        for (int r = 0; r < rows; r++)
            for (int f = 0; f < F; f++) { matrix[r, f] = (float)(sum[r, f] / heads.Count); cost[r, f] = -sum[r, f] / heads.Count; }
        return (matrix, Dtw(cost));
    }

    private static bool IsEndOfText(string text) => text is "<|endoftext|>" or "</s>";

    /// <summary>Each column (frame) to zero mean, unit standard deviation (population, as torch.std_mean(unbiased=False))
    /// over the rows; a column without spread becomes 0.</summary>
    public static void ZScorePerFrame(double[,] x)
    {
        int R = x.GetLength(0), F = x.GetLength(1);
        for (int f = 0; f < F; f++)
        {
            double mean = 0;
            for (int r = 0; r < R; r++) mean += x[r, f];
            mean /= R;
            double v = 0;
            for (int r = 0; r < R; r++) v += (x[r, f] - mean) * (x[r, f] - mean);
            double sd = Math.Sqrt(v / R);
            for (int r = 0; r < R; r++) x[r, f] = sd > 0 ? (x[r, f] - mean) / sd : 0;
        }
    }

    /// <summary>Median over a window of <paramref name="width"/> frames along each row, reflect padding at the ends
    /// (Whisper's median_filter); a row not longer than width/2 frames is returned unfiltered.</summary>
    public static double[,] MedianFilter(double[,] x, int width)
    {
        int R = x.GetLength(0), F = x.GetLength(1), pad = width / 2;
        var y = (double[,])x.Clone();
        if (F <= pad) return y;
        var win = new double[width];
        for (int r = 0; r < R; r++)
            for (int f = 0; f < F; f++)
            {
                for (int k = 0; k < width; k++)
                {
                    int j = f + k - pad;
                    if (j < 0) j = -j;
                    if (j >= F) j = 2 * (F - 1) - j;
                    win[k] = x[r, Math.Clamp(j, 0, F - 1)];
                }
                Array.Sort(win);
                y[r, f] = win[pad];
            }
        return y;
    }

    /// <summary>
    /// Dynamic time warping over a cost [rows, frames] (Whisper's dtw): cumulative cost with steps diagonal, down (next
    /// row, same frame) and right (same row, next frame), ties going right; the path from (0, 0) to the last cell,
    /// monotone in both.
    /// </summary>
    public static List<(int Row, int Frame)> Dtw(double[,] x)
    {
        int N = x.GetLength(0), M = x.GetLength(1);
        if ((long)N * M > 64L << 20) throw new AttnScopeException($"alignment of {N} tokens × {M} frames is too large");
        var cost = new double[N + 1, M + 1];
        var trace = new sbyte[N + 1, M + 1];
        for (int i = 0; i <= N; i++) for (int j = 0; j <= M; j++) { cost[i, j] = double.PositiveInfinity; trace[i, j] = -1; }
        cost[0, 0] = 0;
        for (int j = 1; j <= M; j++)
            for (int i = 1; i <= N; i++)
            {
                double c0 = cost[i - 1, j - 1], c1 = cost[i - 1, j], c2 = cost[i, j - 1];
                double c; sbyte t;
                if (c0 < c1 && c0 < c2) { c = c0; t = 0; }
                else if (c1 < c0 && c1 < c2) { c = c1; t = 1; }
                else { c = c2; t = 2; }
                cost[i, j] = x[i - 1, j - 1] + c;
                trace[i, j] = t;
            }
        for (int j = 0; j <= M; j++) trace[0, j] = 2;
        for (int i = 0; i <= N; i++) trace[i, 0] = 1;
        var path = new List<(int, int)>();
        int a = N, b = M;
        while (a > 0 || b > 0)
        {
            path.Add((a - 1, b - 1));
            switch (trace[a, b])
            {
                case 0: a--; b--; break;
                case 1: a--; break;
                default: b--; break;
            }
        }
        path.Reverse();
        // The walk ends at (−1, −1) only through (0, 0); drop any step outside the matrix.
        return path.Where(p => p.Item1 >= 0 && p.Item2 >= 0).ToList();
    }

    /// <summary>The first frame the path reaches each row.</summary>
    public static int[] RowStarts(IReadOnlyList<(int Row, int Frame)> path, int rows)
    {
        var start = Enumerable.Repeat(-1, rows).ToArray();
        foreach (var (r, f) in path) if (r < rows && start[r] < 0) start[r] = f;
        for (int r = 1; r < rows; r++) if (start[r] < 0) start[r] = start[r - 1];
        return start;
    }

    private static List<AlignedWord> Words(IReadOnlyList<CaptureToken> targets, int P, int K, IReadOnlyList<(int Row, int Frame)> path)
    {
        var starts = RowStarts(path, K + 1);
        var words = new List<AlignedWord>();
        int wordFirst = -1;
        var text = new System.Text.StringBuilder();
        void Close(int endToken)
        {
            if (wordFirst < 0) return;
            int r0 = wordFirst - P, r1 = endToken - P;
            words.Add(new AlignedWord(text.ToString().Trim(), wordFirst, endToken - wordFirst,
                starts[r0] * SpeechLayout.FrameSeconds, starts[r1] * SpeechLayout.FrameSeconds));
            text.Clear();
        }
        for (int i = P; i < P + K; i++)
        {
            var t = targets[i];
            bool starts_ = wordFirst < 0 || t.IsSpecial || t.Text.StartsWith(' ') || IsPunctuation(t.Text.Trim()) || targets[i - 1].IsSpecial;
            if (starts_) { Close(i); wordFirst = i; }
            text.Append(t.Text);
        }
        Close(P + K);
        return words;
    }

    private static bool IsPunctuation(string s) => s.Length > 0 && s.All(c => char.IsPunctuation(c) || char.IsSymbol(c));
}
