using System.Numerics.Tensors;
using AttnScope.Training.Model;

namespace AttnScope.Training.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter): m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
/// θ ← θ − lr·(m̂/(√v̂ + ε) + λ·θ), with λ skipped for biases, norms and position tables. Gradients can be clipped
/// to a global L2 norm first. The moments are part of a checkpoint so a resumed run continues exactly.
/// </summary>
internal sealed class AdamW
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Epsilon { get; init; } = 1e-9;
    public double WeightDecay { get; init; } = 0.01;
    public IReadOnlyList<Parameter> Parameters { get; }
    /// <summary>First moments, one per parameter, same layout.</summary>
    public float[][] M { get; }
    /// <summary>Second moments.</summary>
    public float[][] V { get; }
    /// <summary>Updates applied so far (for bias correction).</summary>
    public long Steps { get; set; }

    public AdamW(IReadOnlyList<Parameter> parameters)
    {
        Parameters = parameters;
        M = parameters.Select(p => new float[p.Length]).ToArray();
        V = parameters.Select(p => new float[p.Length]).ToArray();
    }

    /// <summary>The global L2 norm of all gradients.</summary>
    public double GradientNorm()
    {
        double sum = 0;
        foreach (var p in Parameters)
        {
            double n = TensorPrimitives.Norm(p.Grad.AsSpan());
            sum += n * n;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>Scales all gradients so their global norm is at most <paramref name="maxNorm"/>; returns the norm before.</summary>
    public double ClipGradients(double maxNorm)
    {
        double norm = GradientNorm();
        if (maxNorm > 0 && norm > maxNorm)
        {
            float scale = (float)(maxNorm / (norm + 1e-6));
            foreach (var p in Parameters) TensorPrimitives.Multiply(p.Grad.AsSpan(), scale, p.Grad.AsSpan());
        }
        return norm;
    }

    public void Step(double learningRate)
    {
        Steps++;
        float b1 = (float)Beta1, b2 = (float)Beta2;
        float c1 = (float)(1 - Math.Pow(Beta1, Steps)), c2 = (float)(1 - Math.Pow(Beta2, Steps));
        float lr = (float)learningRate, eps = (float)Epsilon;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            float decay = p.NoDecay ? 0f : (float)(learningRate * WeightDecay);
            float[] m = M[i], v = V[i], w = p.Value, g = p.Grad;
            for (int j = 0; j < w.Length; j++)
            {
                float gj = g[j];
                float mj = m[j] = b1 * m[j] + (1 - b1) * gj;
                float vj = v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                w[j] -= lr * (mj / c1) / (MathF.Sqrt(vj / c2) + eps) + decay * w[j];
            }
            p.Touch();
        }
    }
}
