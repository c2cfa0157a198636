using System.Numerics.Tensors;
using AttnScope.Sources.Engine;

namespace AttnScope.Training.Model;

/// <summary>
/// Cross-entropy against a smoothed target: q = (1 − ε)·onehot(y) + ε/V. Rows whose target is the padding id are
/// ignored. Forward returns the summed loss (and the plain negative log-likelihood for reporting); backward gives
/// dlogits = (softmax − q)·scale. Rows run in parallel chunks on the worker pool.
/// </summary>
internal sealed class LabelSmoothedCrossEntropy
{
    public float Smoothing { get; }
    public int PadId { get; }
    private readonly Action<int> _forwardChunk, _scaleChunk;

    public LabelSmoothedCrossEntropy(float smoothing, int padId)
    {
        Smoothing = smoothing;
        PadId = padId;
        _forwardChunk = ForwardChunk;
        _scaleChunk = ScaleChunk;
    }

    private float[] _logits = [];
    private float[] _dLogits = [];
    private int[] _targets = [];
    private int _rows, _vocab;
    private readonly double[] _lossParts = new double[64];
    private readonly double[] _nllParts = new double[64];
    private int _chunks;
    private float _scale;

    /// <summary>Summed smoothed loss, summed NLL and the number of counted (non-padding) rows.</summary>
    public (double Loss, double Nll, int Tokens) Forward(float[] logits, int rows, int vocab, int[] targets)
    {
        _logits = logits; _rows = rows; _vocab = vocab; _targets = targets;
        if (_dLogits.Length != (long)rows * vocab) _dLogits = new float[checked(rows * vocab)]; // exactly the logits' size: the core checks it
        _chunks = Math.Min(_lossParts.Length, Math.Max(1, Math.Min(rows, Gemm.Threads * 4)));
        WorkerPool.For(_chunks, _forwardChunk, Gemm.Threads);
        double loss = 0, nll = 0;
        for (int c = 0; c < _chunks; c++) { loss += _lossParts[c]; nll += _nllParts[c]; }
        int tokens = 0;
        for (int r = 0; r < rows; r++) if (targets[r] != PadId) tokens++;
        return (loss, nll, tokens);
    }

    private void ForwardChunk(int c)
    {
        int r0 = _rows * c / _chunks, r1 = _rows * (c + 1) / _chunks, v = _vocab;
        double loss = 0, nll = 0;
        float off = Smoothing / v, on = 1f - Smoothing + off;
        for (int r = r0; r < r1; r++)
        {
            var dz = _dLogits.AsSpan(r * v, v);
            int y = _targets[r];
            if (y == PadId) { dz.Clear(); continue; }
            var z = _logits.AsSpan(r * v, v);
            float max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, dz);
            TensorPrimitives.Exp(dz, dz);
            float sum = TensorPrimitives.Sum(dz);
            float logSum = MathF.Log(sum) + max;
            // log p_j = z_j − logSum; smoothed loss = −Σ q_j log p_j = logSum − (1−ε)·z_y − (ε/V)·Σ z_j
            double sumZ = TensorPrimitives.Sum(z);
            double rowNll = logSum - z[y];
            nll += rowNll;
            loss += (1 - Smoothing) * rowNll + Smoothing * (logSum - sumZ / v);
            TensorPrimitives.Multiply(dz, 1f / sum, dz);
            TensorPrimitives.Subtract(dz, off, dz);
            dz[y] -= on - off;
        }
        _lossParts[c] = loss;
        _nllParts[c] = nll;
    }

    /// <summary>dlogits [rows, vocab] = (softmax − q)·<paramref name="scale"/> (e.g. 1 / tokens for a mean loss), padding rows zero.</summary>
    public float[] Backward(float scale)
    {
        _scale = scale;
        WorkerPool.For(_chunks, _scaleChunk, Gemm.Threads);
        return _dLogits;
    }

    private void ScaleChunk(int c)
    {
        int r0 = _rows * c / _chunks, r1 = _rows * (c + 1) / _chunks;
        var span = _dLogits.AsSpan(r0 * _vocab, (r1 - r0) * _vocab);
        TensorPrimitives.Multiply(span, _scale, span);
    }
}
