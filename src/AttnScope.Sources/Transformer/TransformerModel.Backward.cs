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
public sealed unsafe partial class TransformerModel
{
    /// <summary>
    /// Backward from ∂f/∂logits [m, vocab] of a recorded pass: adds the head's gradient and continues with
    /// <see cref="Backward"/>.
    /// </summary>
    public float[][]? BackwardFromLogits(CoreTape tape, float[] dLogits, CoreGradients? grads, bool probabilityGradients = false)
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
                fixed (float* gu = gU) MatOps.MulAt(dl, m, v, hid, d, gu, accumulate: true);
                if (grads.Grads.UnembeddingBias is { } gb) ColumnSums(dLogits, m, v, gb);
            }
        }
        return Backward(tape, dHidden, grads, probabilityGradients);
    }

    /// <summary>
    /// Backward of a recorded pass from ∂f/∂(last hidden state) [m, hidden] (after the final norm). Adds every
    /// parameter's gradient into <paramref name="grads"/> (when given) and returns ∂f/∂P per layer
    /// [heads, m, m] when <paramref name="probabilityGradients"/> is set.
    /// </summary>
    public float[][]? Backward(CoreTape tape, float[] dHidden, CoreGradients? grads, bool probabilityGradients = false)
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
        for (int l = s.Layers - 1; l >= 0; l--)
        {
            var lt = tape.Layers[l];
            var w = Tensors.Layers[l];
            var gl = g?.Layers[l];
            if (s.Mlp)
            {
                if (!pre) NormBackwardRows(lt.MlpSum, m, w.Norm2Gain!, dx, gl?.Norm2Gain, gl?.Norm2Bias);
                MlpBackward(lt, w, gl, dx, dA, m);
                if (pre) NormBackwardRows(lt.XMid, m, w.Norm2Gain!, dA, gl?.Norm2Gain, gl?.Norm2Bias);
                TensorPrimitives.Add(dx, dA, dx);
            }
            if (!pre) NormBackwardRows(lt.AttnSum, m, w.Norm1Gain, dx, gl?.Norm1Gain, gl?.Norm1Bias);
            // x_mid = x_in + Ctx·Oᵀ + b: the output projection.
            fixed (float* pdx = dx, po = w.Output, pc = dCtx, ctx = lt.Ctx)
            {
                MatOps.Mul(pdx, m, d, po, qw, pc, accumulate: false);
                if (gl is not null) fixed (float* go = gl.Output) MatOps.MulAt(pdx, m, d, ctx, qw, go, accumulate: true);
            }
            if (gl?.OutputBias is { } gob) ColumnSums(dx, m, d, gob);
            var dP = AttentionBackward(tape, lt, l, dCtx, dQkv, probabilityGradients);
            if (result is not null) result[l] = dP!;
            if (_rope is not null) RotaryBackward(dQkv, m);
            // Q | K | V = A1·Wᵀ + b
            var fused = FusedQkv(l);
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

    private float[][]? _fusedQkv;

    /// <summary>Layer l's Q | K | V weights [Q+2KV, hidden] as one array (built on first use).</summary>
    private float[] FusedQkv(int l)
    {
        _fusedQkv ??= new float[Spec.Layers][];
        var t = Tensors.Layers[l];
        var f = _fusedQkv[l];
        if (f is null)
        {
            f = new float[t.Query.Length + t.Key.Length + t.Value.Length];
            _fusedQkv[l] = f;
        }
        t.Query.CopyTo(f, 0);
        t.Key.CopyTo(f, t.Query.Length);
        t.Value.CopyTo(f, t.Query.Length + t.Key.Length);
        return f;
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

    /// <summary>
    /// Through softmax(QKᵀ·scale)·V for every head: dP = dC·Vᵀ, dV += Pᵀ·dC, dS = P⊙(dP − rowsum(P⊙dP)),
    /// dQ = dS·K·scale, dK += dSᵀ·Q·scale (key/value heads collect their group's gradients). Writes dQkv.
    /// </summary>
    private float[]? AttentionBackward(CoreTape tape, LayerTape lt, int l, float[] dCtx, float[] dQkv, bool keepDp)
    {
        var s = Spec;
        int m = tape.M, H = s.Heads, dh = s.HeadDim, qw = s.QueryWidth, kvw = s.KvWidth, w = s.QkvWidth, group = H / s.KvHeads;
        float scale = 1f / MathF.Sqrt(dh);
        Array.Clear(dQkv, 0, m * w);
        var dpAll = keepDp ? new float[H * m * m] : null;
        var dS = new float[m * m];
        for (int h = 0; h < H; h++)
        {
            int kv = h / group;
            var p = tape.Attention.AsSpan((l * H + h) * m * m, m * m);
            var dP = new float[m * m];
            for (int i = 0; i < m; i++)
            {
                var dci = dCtx.AsSpan(i * qw + h * dh, dh);
                var pi = p.Slice(i * m, m);
                float dot = 0;
                for (int j = 0; j < m; j++)
                {
                    float dp = TensorPrimitives.Dot(dci, lt.Qkv.AsSpan(j * w + qw + kvw + kv * dh, dh));
                    dP[i * m + j] = dp; // also where the mask hid the key: relevance reads only P ⊙ dP
                    if (pi[j] == 0f) continue;
                    dot += pi[j] * dp;
                    var dvj = dQkv.AsSpan(j * w + qw + kvw + kv * dh, dh);
                    TensorPrimitives.MultiplyAdd(dci, pi[j], dvj, dvj);
                }
                for (int j = 0; j < m; j++) dS[i * m + j] = pi[j] * (dP[i * m + j] - dot) * scale;
            }
            if (dpAll is not null) dP.CopyTo(dpAll.AsSpan(h * m * m, m * m));
            for (int i = 0; i < m; i++)
            {
                var dqi = dQkv.AsSpan(i * w + h * dh, dh);
                var qi = lt.Qkv.AsSpan(i * w + h * dh, dh);
                for (int j = 0; j < m; j++)
                {
                    float gij = dS[i * m + j];
                    if (gij == 0f) continue;
                    TensorPrimitives.MultiplyAdd(lt.Qkv.AsSpan(j * w + qw + kv * dh, dh), gij, dqi, dqi);
                    var dkj = dQkv.AsSpan(j * w + qw + kv * dh, dh);
                    TensorPrimitives.MultiplyAdd(qi, gij, dkj, dkj);
                }
            }
        }
        return dpAll;
    }

    /// <summary>Rotary is a rotation per pair: its backward rotates the gradient back (by −angle).</summary>
    private void RotaryBackward(float[] dQkv, int m)
    {
        var s = Spec;
        int half = _rope!.RotaryDim / 2, dh = s.HeadDim, w = s.QkvWidth, qw = s.QueryWidth;
        Span<float> cos = stackalloc float[half], sin = stackalloc float[half], neg = stackalloc float[half];
        for (int i = 0; i < m; i++)
        {
            _rope.Angles(i, cos, sin);
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
        if (g is null) return;
        for (int i = 0; i < m; i++)
        {
            var row = dx.AsSpan(i * d, d);
            var te = g.TokenEmbeddings.AsSpan(tape.Ids[i] * d, d);
            TensorPrimitives.MultiplyAdd(row, s.EmbeddingScale, te, te);
            if (g.PositionEmbeddings is { } pe) { var r = pe.AsSpan(i * d, d); TensorPrimitives.Add(r, row, r); }
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
