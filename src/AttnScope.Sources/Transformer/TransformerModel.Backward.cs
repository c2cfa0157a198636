using System.Numerics.Tensors;
using AttnScope.Capture;
using AttnScope.Sources.Engine;

namespace AttnScope.Sources.Transformer;

/// <summary>
/// The backward pass of the core, beside its forward pass: from the gradient of any scalar with respect to the
/// last hidden state (or the logits) back through every block, adding parameter gradients into a
/// <see cref="CoreGradients"/> and, when asked, returning ∂f/∂P for every attention probability (gradient
/// relevance). Float32 with the engine's GEMM; norms recomputed from their recorded inputs.
/// </summary>
internal sealed unsafe partial class TransformerModel
{
    /// <summary>
    /// Backward from ∂f/∂logits [m, vocab] of a recorded pass: adds the head's gradient and continues with
    /// <see cref="Backward"/>.
    /// </summary>
    public float[][]? BackwardFromLogits(CoreTape tape, float[] dLogits, CoreGradients? grads, bool probabilityGradients = false, BackwardOutputs? outputs = null)
    {
        var s = Spec;
        if (!s.LmHead) throw new AttnScopeException($"{s.Family} has no language-model head");
        int m = tape.M, d = s.Hidden, v = s.Vocab;
        if (dLogits.Length != m * v) throw new ArgumentException("the logit gradient does not match the pass", nameof(dLogits));
        var head = Weights.UnembeddingRows!;
        var dHidden = new float[m * d];
        fixed (float* dl = dLogits, wu = head, dh = dHidden, hid = tape.Hidden)
        {
            MatOps.Mul(dl, m, v, wu, d, dh, accumulate: false);
            if (grads is not null)
            {
                var gU = s.TiedHead ? grads.Grads.TokenEmbeddings : grads.Grads.Unembedding!;
                if (s.LogitScale == 1f) fixed (float* gu = gU) MatOps.MulAt(dl, m, v, hid, d, gu, accumulate: true);
                else
                {
                    // logits = (scale·h)·Wᵀ: ∂/∂W = scale·dLᵀ·h
                    var gw = new float[(long)v * d];
                    fixed (float* pg = gw) MatOps.MulAt(dl, m, v, hid, d, pg, accumulate: false);
                    TensorPrimitives.MultiplyAdd(gw, s.LogitScale, gU, gU);
                }
                if (grads.Grads.UnembeddingBias is { } gb) ColumnSums(dLogits, m, v, gb);
            }
        }
        return Backward(tape, dHidden, grads, probabilityGradients, outputs);
    }

    /// <summary>
    /// Backward of a recorded pass from ∂f/∂(last hidden state) [m, hidden] (after the final norm). Adds every
    /// parameter's gradient into <paramref name="grads"/> (when given) and returns ∂f/∂P per layer
    /// [heads, m, m] when <paramref name="probabilityGradients"/> is set (packed sequences: each sequence's
    /// [heads, n, n] block in turn). A cross-attending stack also adds ∂f/∂memory into
    /// <paramref name="outputs"/>' <see cref="BackwardOutputs.MemoryGradient"/> (allocated when null), from which
    /// the encoder's backward continues, and gives ∂f/∂P of the cross-attention when asked.
    /// </summary>
    public float[][]? Backward(CoreTape tape, float[] dHidden, CoreGradients? grads, bool probabilityGradients = false, BackwardOutputs? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(tape);
        var s = Spec;
        int m = tape.M, d = s.Hidden, H = s.Heads, dh = s.HeadDim, qw = s.QueryWidth, kvw = s.KvWidth, qkvw = s.QkvWidth, I = s.Intermediate;
        if (dHidden.Length != m * d) throw new ArgumentException("the hidden-state gradient does not match the pass", nameof(dHidden));
        bool pre = s.Placement == NormPlacement.Pre;
        var g = grads?.Grads;
        var dx = (float[])dHidden.Clone();
        if (s.FinalNorm) NormBackwardRows(tape.FinalIn, m, Tensors.FinalNormGain!, dx, g?.FinalNormGain, g?.FinalNormBias);
        var result = probabilityGradients ? new float[s.Layers][] : null;
        var dCtx = new float[m * qw];
        var dQkv = new float[m * qkvw];
        var dA = new float[m * d];
        float[]? dMemory = null;
        if (s.CrossAttention)
        {
            if (tape.Memory is null) throw new ArgumentException("the tape has no encoder output", nameof(tape));
            outputs ??= new BackwardOutputs();
            outputs.MemoryGradient ??= new float[tape.Memory.Length];
            if (outputs.MemoryGradient.Length != tape.Memory.Length) throw new ArgumentException("the memory gradient does not match the pass", nameof(outputs));
            dMemory = outputs.MemoryGradient;
            if (outputs.CrossProbabilityGradients) outputs.CrossProbabilityGradient = new float[s.Layers][];
        }
        for (int l = s.Layers - 1; l >= 0; l--)
        {
            var lt = tape.Layers[l];
            var w = Tensors.Layers[l];
            var gl = g?.Layers[l];
            if (s.Mlp)
            {
                if (!pre) NormBackwardRows(lt.MlpSum, m, w.Norm2Gain!, dx, gl?.Norm2Gain, gl?.Norm2Bias);
                MlpBackward(lt, w, gl, Masked(dx, lt.MlpMask, m * d), dA, m);
                if (pre) NormBackwardRows(lt.XMid, m, w.Norm2Gain!, dA, gl?.Norm2Gain, gl?.Norm2Bias);
                TensorPrimitives.Add(dx, dA, dx);
            }
            if (s.CrossAttention)
            {
                var dp = CrossBackward(tape, lt, l, w, gl, dx, dA, dCtx, dMemory!, outputs!.CrossProbabilityGradients);
                if (outputs.CrossProbabilityGradient is { } cpg) cpg[l] = dp!;
            }
            if (!pre) NormBackwardRows(lt.AttnSum, m, w.Norm1Gain, dx, gl?.Norm1Gain, gl?.Norm1Bias);
            // x_mid = x_in + Dropout(Ctx·Oᵀ + b): the output projection.
            var dOut = Masked(dx, lt.AttnMask, m * d);
            fixed (float* pdx = dOut, po = w.Output, pc = dCtx, ctx = lt.Ctx)
            {
                MatOps.Mul(pdx, m, d, po, qw, pc, accumulate: false);
                if (gl is not null) fixed (float* go = gl.Output) MatOps.MulAt(pdx, m, d, ctx, qw, go, accumulate: true);
            }
            if (gl?.OutputBias is { } gob) ColumnSums(dOut, m, d, gob);
            var dP = AttentionBackward(tape, lt, l, dCtx, dQkv, probabilityGradients, g?.RelativeBias);
            if (result is not null) result[l] = dP!;
            if (_rope is not null) RotaryBackward(dQkv, m, tape.Positions);
            // Q | K | V = A1·Wᵀ + b
            var fused = FusedQkv(l, _fusedQkv ??= new float[Spec.Layers][], t => [t.Query, t.Key, t.Value]);
            fixed (float* pq = dQkv, pw = fused, pa = dA, a1 = lt.A1)
            {
                MatOps.Mul(pq, m, qkvw, pw, d, pa, accumulate: false);
                if (gl is not null)
                {
                    var gw = new float[(long)qkvw * d];
                    fixed (float* pg = gw) MatOps.MulAt(pq, m, qkvw, a1, d, pg, accumulate: false);
                    TensorPrimitives.Add(gl.Query, gw.AsSpan(0, qw * d), gl.Query);
                    TensorPrimitives.Add(gl.Key, gw.AsSpan(qw * d, kvw * d), gl.Key);
                    TensorPrimitives.Add(gl.Value, gw.AsSpan((qw + kvw) * d, kvw * d), gl.Value);
                }
            }
            if (gl is not null)
            {
                var bias = new float[qkvw];
                ColumnSums(dQkv, m, qkvw, bias);
                if (gl.QueryBias is { } qb) TensorPrimitives.Add(qb, bias.AsSpan(0, qw), qb);
                if (gl.KeyBias is { } kb) TensorPrimitives.Add(kb, bias.AsSpan(qw, kvw), kb);
                if (gl.ValueBias is { } vb) TensorPrimitives.Add(vb, bias.AsSpan(qw + kvw, kvw), vb);
            }
            if (pre) NormBackwardRows(lt.XIn, m, w.Norm1Gain, dA, gl?.Norm1Gain, gl?.Norm1Bias);
            TensorPrimitives.Add(dx, dA, dx);
        }
        EmbeddingBackward(tape, dx, g);
        return result;
    }

    private float[][]? _fusedQkv, _fusedCrossKv;

    /// <summary>Layer l's weights of several projections stacked row-wise (Q | K | V, or cross K | V) as one array,
    /// refreshed from the tensors on every call (an optimizer may have changed them).</summary>
    private float[] FusedQkv(int l, float[][] cache, Func<CoreLayerTensors, float[][]> parts)
    {
        var ps = parts(Tensors.Layers[l]);
        var f = cache[l];
        if (f is null)
        {
            f = new float[ps.Sum(p => p.Length)];
            cache[l] = f;
        }
        int at = 0;
        foreach (var p in ps) { p.CopyTo(f, at); at += p.Length; }
        return f;
    }

    /// <summary>dy ⊙ the dropout mask (a new array), or dy itself without dropout.</summary>
    private static float[] Masked(float[] dy, float[]? mask, int n)
    {
        if (mask is null) return dy;
        var r = new float[n];
        TensorPrimitives.Multiply(dy.AsSpan(0, n), mask.AsSpan(0, n), r);
        return r;
    }

    /// <summary>
    /// Back through block l's cross-attention sub-layer: <paramref name="dx"/> (∂/∂ its output) becomes ∂/∂ its input
    /// in place; the keys' and values' share goes to <paramref name="dMemory"/>. Returns ∂f/∂P when asked.
    /// </summary>
    private float[]? CrossBackward(CoreTape tape, LayerTape lt, int l, CoreLayerTensors w, CoreLayerTensors? gl, float[] dx, float[] dA, float[] dCtx,
        float[] dMemory, bool keepDp)
    {
        var s = Spec;
        int m = tape.M, d = s.Hidden, qw = s.QueryWidth, kvw = s.KvWidth, S = tape.Memory!.Length / d;
        bool pre = s.Placement == NormPlacement.Pre;
        if (!pre) NormBackwardRows(lt.CrossSum, m, w.CrossNormGain!, dx, gl?.CrossNormGain, gl?.CrossNormBias);
        var dOut = Masked(dx, lt.CrossMask, m * d);
        fixed (float* pdx = dOut, po = w.CrossOutput, pc = dCtx, ctx = lt.CrossCtx)
        {
            MatOps.Mul(pdx, m, d, po, qw, pc, accumulate: false);
            if (gl is not null) fixed (float* go = gl.CrossOutput) MatOps.MulAt(pdx, m, d, ctx, qw, go, accumulate: true);
        }
        if (gl?.CrossOutputBias is { } gob) ColumnSums(dOut, m, d, gob);
        var dQ = new float[m * qw];
        var dKv = new float[S * 2 * kvw];
        var segs = tape.Segments;
        var dpAll = keepDp ? new float[segs.CrossPerLayer] : null;
        void Segment(int i)
        {
            long at = l * segs.CrossPerLayer + segs.CrossOff![i];
            HeadsBackward(tape.CrossAttention.AsSpan((int)at, (int)(segs.CrossPerLayer - segs.CrossOff[i])), dCtx, segs.Start[i], segs.Len[i],
                lt.CrossQ, qw, 0, tape.MemoryKv![l], 2 * kvw, 0, kvw, segs.MemStart![i], segs.MemLen![i], dQ, dKv,
                dpAll is null ? default : dpAll.AsSpan((int)segs.CrossOff[i]));
        }
        ForSegments(segs, Segment);
        // Q = A·W_Qᵀ + b
        fixed (float* pq = dQ, pw = w.CrossQuery, pa = dA, a = lt.CrossA)
        {
            MatOps.Mul(pq, m, qw, pw, d, pa, accumulate: false);
            if (gl is not null) fixed (float* gq = gl.CrossQuery) MatOps.MulAt(pq, m, qw, a, d, gq, accumulate: true);
        }
        if (gl?.CrossQueryBias is { } gqb) ColumnSums(dQ, m, qw, gqb);
        // K | V = memory·[W_K; W_V]ᵀ + b
        var fused = FusedQkv(l, _fusedCrossKv ??= new float[s.Layers][], t => [t.CrossKey!, t.CrossValue!]);
        fixed (float* pk = dKv, pw = fused, pm = dMemory, mem = tape.Memory)
        {
            MatOps.Mul(pk, S, 2 * kvw, pw, d, pm, accumulate: true);
            if (gl is not null)
            {
                var gw = new float[2 * kvw * d];
                fixed (float* pg = gw) MatOps.MulAt(pk, S, 2 * kvw, mem, d, pg, accumulate: false);
                TensorPrimitives.Add(gl.CrossKey!, gw.AsSpan(0, kvw * d), gl.CrossKey!);
                TensorPrimitives.Add(gl.CrossValue!, gw.AsSpan(kvw * d, kvw * d), gl.CrossValue!);
                var bias = new float[2 * kvw];
                ColumnSums(dKv, S, 2 * kvw, bias);
                if (gl.CrossKeyBias is { } kb) TensorPrimitives.Add(kb, bias.AsSpan(0, kvw), kb);
                if (gl.CrossValueBias is { } vb) TensorPrimitives.Add(vb, bias.AsSpan(kvw, kvw), vb);
            }
        }
        if (pre) NormBackwardRows(lt.CrossIn, m, w.CrossNormGain!, dA, gl?.CrossNormGain, gl?.CrossNormBias);
        TensorPrimitives.Add(dx, dA, dx);
        return dpAll;
    }

    /// <summary>Runs f for every packed sequence, in parallel when there are several (each writes only its own rows).</summary>
    private static void ForSegments(SegmentLayout segs, Action<int> f)
    {
        if (segs.Count > 1 && Gemm.Threads > 1) WorkerPool.For(segs.Count, f, Gemm.Threads);
        else for (int i = 0; i < segs.Count; i++) f(i);
    }

    /// <summary>
    /// Through softmax(QKᵀ·scale)·V for every head of one sequence: dP = dC·Vᵀ, dV += Pᵀ·dC,
    /// dS = P⊙(dP − rowsum(P⊙dP)), dQ += dS·K·scale, dK += dSᵀ·Q·scale (key/value heads collect their group's
    /// gradients). Queries are rows q0… of <paramref name="q"/> (stride qLd, from column qCol); keys and values rows
    /// k0… of <paramref name="kv"/> (stride kvLd, from columns kCol and vCol); gradients go to the same places of
    /// <paramref name="dQ"/> and <paramref name="dKv"/>. <paramref name="p"/> starts at this sequence's [heads, mq, mk] block.
    /// </summary>
    private void HeadsBackward(ReadOnlySpan<float> p, float[] dCtx, int q0, int mq, float[] q, int qLd, int qCol,
        float[] kv, int kvLd, int kCol, int vCol, int k0, int mk, float[] dQ, float[] dKv, Span<float> dpOut, float[]? dRelative = null)
    {
        var s = Spec;
        int H = s.Heads, dh = s.HeadDim, qw = s.QueryWidth, group = H / s.KvHeads;
        float scale = s.ScoreScale;
        bool keep = !dpOut.IsEmpty;
        // relative-position biases (self-attention of a stack that has them): ∂/∂bias[bucket(j − i), h] = Σ P⊙(dP − Σ P⊙dP)
        float[]? dRel = dRelative is null ? null : new float[dRelative.Length];
        bool bidirectional = !s.Causal;
        var dP = new float[mk];
        var dS = new float[mq * mk];
        for (int h = 0; h < H; h++)
        {
            int kvh = h / group;
            var ph = p.Slice(h * mq * mk, mq * mk);
            for (int i = 0; i < mq; i++)
            {
                var dci = dCtx.AsSpan((q0 + i) * qw + h * dh, dh);
                var pi = ph.Slice(i * mk, mk);
                float dot = 0;
                for (int j = 0; j < mk; j++)
                {
                    if (pi[j] == 0f && !keep) { dP[j] = 0; continue; }
                    int row = (k0 + j) * kvLd;
                    float dp = TensorPrimitives.Dot(dci, kv.AsSpan(row + vCol + kvh * dh, dh));
                    dP[j] = dp; // also where the mask hid the key: relevance reads only P ⊙ dP
                    if (pi[j] == 0f) continue;
                    dot += pi[j] * dp;
                    var dvj = dKv.AsSpan(row + vCol + kvh * dh, dh);
                    TensorPrimitives.MultiplyAdd(dci, pi[j], dvj, dvj);
                }
                if (keep) dP.CopyTo(dpOut.Slice((h * mq + i) * mk, mk));
                for (int j = 0; j < mk; j++) dS[i * mk + j] = pi[j] * (dP[j] - dot) * scale;
                if (dRel is not null)
                    for (int j = 0; j < mk; j++)
                        if (pi[j] != 0f) dRel[RelativePositionBuckets.Bucket(j - i, bidirectional, s.RelativeBuckets, s.RelativeMaxDistance) * H + h] += pi[j] * (dP[j] - dot);
            }
            for (int i = 0; i < mq; i++)
            {
                var dqi = dQ.AsSpan((q0 + i) * qLd + qCol + h * dh, dh);
                var qi = q.AsSpan((q0 + i) * qLd + qCol + h * dh, dh);
                for (int j = 0; j < mk; j++)
                {
                    float gij = dS[i * mk + j];
                    if (gij == 0f) continue;
                    int row = (k0 + j) * kvLd;
                    TensorPrimitives.MultiplyAdd(kv.AsSpan(row + kCol + kvh * dh, dh), gij, dqi, dqi);
                    var dkj = dKv.AsSpan(row + kCol + kvh * dh, dh);
                    TensorPrimitives.MultiplyAdd(qi, gij, dkj, dkj);
                }
            }
        }
        if (dRel is not null) lock (dRelative!) TensorPrimitives.Add(dRelative, dRel, dRelative);
    }

    private void MlpBackward(LayerTape lt, CoreLayerTensors w, CoreLayerTensors? gl, float[] dOut, float[] dA2, int m)
    {
        var s = Spec;
        int d = s.Hidden, I = s.Intermediate, mw = s.MlpWidth;
        var dPost = new float[m * I];
        fixed (float* po = dOut, pw = w.Down, pd = dPost, mp = lt.MidPost)
        {
            MatOps.Mul(po, m, d, pw, I, pd, accumulate: false);
            if (gl is not null) fixed (float* gd = gl.Down) MatOps.MulAt(po, m, d, mp, I, gd, accumulate: true);
        }
        if (gl?.DownBias is { } db) ColumnSums(dOut, m, d, db);
        var dPre = new float[m * mw];
        for (int i = 0; i < m; i++)
        {
            var dp = dPost.AsSpan(i * I, I);
            if (!s.GatedMlp) CoreOps.ActivationBackward(s.Activation, lt.MidPre.AsSpan(i * I, I), dp, dPre.AsSpan(i * I, I));
            else
            {
                var gate = lt.MidPre.AsSpan(i * mw, I);
                var up = lt.MidPre.AsSpan(i * mw + I, I);
                var dGate = dPre.AsSpan(i * mw, I);
                var dUp = dPre.AsSpan(i * mw + I, I);
                var act = gate.ToArray();
                CoreOps.Activate(s.Activation, act);
                TensorPrimitives.Multiply(dp, act, dUp);         // ∂/∂up = dOut·act(gate)
                TensorPrimitives.Multiply(dp, up, act);          // reuse: dOut·up
                CoreOps.ActivationBackward(s.Activation, gate, act, dGate);
            }
        }
        fixed (float* pdp = dPre, pa = dA2, a2 = lt.A2)
        {
            if (!s.GatedMlp)
            {
                fixed (float* pu = w.Up) MatOps.Mul(pdp, m, I, pu, d, pa, accumulate: false);
                if (gl is not null) fixed (float* gu = gl.Up) MatOps.MulAt(pdp, m, I, a2, d, gu, accumulate: true);
                if (gl?.UpBias is { } ub) ColumnSums(dPre, m, I, ub);
            }
            else
            {
                var dGate = GatherRows(dPre, m, mw, I);
                var dUp = new float[m * I];
                for (int i = 0; i < m; i++) dPre.AsSpan(i * mw + I, I).CopyTo(dUp.AsSpan(i * I, I));
                fixed (float* pg = dGate, pu = dUp, wg = w.Gate, wu = w.Up)
                {
                    MatOps.Mul(pg, m, I, wg, d, pa, accumulate: false);
                    MatOps.Mul(pu, m, I, wu, d, pa, accumulate: true);
                    if (gl is not null)
                        fixed (float* gg = gl.Gate, gu = gl.Up)
                        {
                            MatOps.MulAt(pg, m, I, a2, d, gg, accumulate: true);
                            MatOps.MulAt(pu, m, I, a2, d, gu, accumulate: true);
                        }
                }
                if (gl?.GateBias is { } gb) ColumnSums(dGate, m, I, gb);
                if (gl?.UpBias is { } ub) ColumnSums(dUp, m, I, ub);
            }
        }
    }

    /// <summary>Self-attention of block l for every (packed) sequence; writes dQkv; returns ∂f/∂P when asked.</summary>
    private float[]? AttentionBackward(CoreTape tape, LayerTape lt, int l, float[] dCtx, float[] dQkv, bool keepDp, float[]? dRelative)
    {
        var s = Spec;
        int m = tape.M, qw = s.QueryWidth, kvw = s.KvWidth, w = s.QkvWidth;
        Array.Clear(dQkv, 0, m * w);
        var segs = tape.Segments;
        var dpAll = keepDp ? new float[segs.SelfPerLayer] : null;
        void Segment(int i)
        {
            long at = l * segs.SelfPerLayer + segs.SelfOff[i];
            int n = segs.Len[i];
            HeadsBackward(tape.Attention.AsSpan((int)at, s.Heads * n * n), dCtx, segs.Start[i], n, lt.Qkv, w, 0, lt.Qkv, w, qw, qw + kvw,
                segs.Start[i], n, dQkv, dQkv, dpAll is null ? default : dpAll.AsSpan((int)segs.SelfOff[i], s.Heads * n * n), dRelative);
        }
        ForSegments(segs, Segment);
        return dpAll;
    }

    /// <summary>Rotary is a rotation per pair: its backward rotates the gradient back (by −angle).</summary>
    private void RotaryBackward(float[] dQkv, int m, int[] positions)
    {
        var s = Spec;
        int half = _rope!.RotaryDim / 2, dh = s.HeadDim, w = s.QkvWidth, qw = s.QueryWidth;
        Span<float> cos = stackalloc float[half], sin = stackalloc float[half], neg = stackalloc float[half];
        for (int i = 0; i < m; i++)
        {
            _rope.Angles(positions[i], cos, sin);
            for (int k = 0; k < half; k++) neg[k] = -sin[k];
            var row = dQkv.AsSpan(i * w, w);
            for (int h = 0; h < s.Heads; h++) RotaryTable.Rotate(row.Slice(h * dh, _rope.RotaryDim), cos, neg);
            for (int h = 0; h < s.KvHeads; h++) RotaryTable.Rotate(row.Slice(qw + h * dh, _rope.RotaryDim), cos, neg);
        }
    }

    private void EmbeddingBackward(CoreTape tape, float[] dx, CoreTensors? g)
    {
        var s = Spec;
        int m = tape.M, d = s.Hidden;
        if (s.EmbeddingNorm) NormBackwardRows(tape.EmbedSum, m, Tensors.EmbeddingNormGain!, dx, g?.EmbeddingNormGain, g?.EmbeddingNormBias);
        if (tape.EmbedMask is { } mask) TensorPrimitives.Multiply(dx.AsSpan(0, m * d), mask.AsSpan(0, m * d), dx.AsSpan(0, m * d));
        if (g is null) return;
        for (int i = 0; i < m; i++)
        {
            var row = dx.AsSpan(i * d, d);
            var te = g.TokenEmbeddings.AsSpan(tape.Ids[i] * d, d);
            TensorPrimitives.MultiplyAdd(row, s.EmbeddingScale, te, te);
            if (g.PositionEmbeddings is { } pe) { var r = pe.AsSpan(tape.Positions[i] * d, d); TensorPrimitives.Add(r, row, r); }
            if (g.TypeEmbeddings is { } ty) { var r = ty.AsSpan((tape.TypeIds?[i] ?? 0) * d, d); TensorPrimitives.Add(r, row, r); }
        }
    }

    /// <summary>In place over m rows: dy → dx through the norm of <paramref name="input"/> rows; adds gain/bias gradients.</summary>
    private void NormBackwardRows(float[] input, int m, float[] gain, float[] dy, float[]? dGain, float[]? dBias)
    {
        int d = Spec.Hidden;
        for (int i = 0; i < m; i++)
        {
            var x = input.AsSpan(i * d, d);
            var g = dy.AsSpan(i * d, d);
            if (Spec.Norm == NormKind.RmsNorm) CoreOps.RmsNormBackward(x, gain, Spec.NormEps, g, dGain);
            else CoreOps.LayerNormBackward(x, gain, Spec.NormEps, g, dGain, dBias);
        }
    }

    private static void ColumnSums(ReadOnlySpan<float> a, int rows, int cols, Span<float> into)
    {
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(into, a.Slice(r * cols, cols), into);
    }
}
