using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AttnScope.Sources.Engine;

/// <summary>
/// Feed-forward activations: exact GELU (with a vectorised float erf accurate to about 1e-7), the tanh GELU
/// approximation (<c>gelu_new</c>), and ReLU.
/// </summary>
internal static class Activations
{
    private const int TaylorTerms = 21;
    private const int FractionDepth = 24;
    private const float TaylorLimit = 2f;
    private static readonly float[] Taylor = BuildTaylor();

    // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)); stored as coefficients of x·P(x²).
    private static float[] BuildTaylor()
    {
        var c = new float[TaylorTerms];
        double fact = 1;
        for (int n = 0; n < TaylorTerms; n++)
        {
            if (n > 0) fact *= n;
            c[n] = (float)(2.0 / Math.Sqrt(Math.PI) * (n % 2 == 0 ? 1 : -1) / (fact * (2 * n + 1)));
        }
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>
    /// erf on 8 lanes. |x| &lt; 2: the Maclaurin series (21 terms, float Horner in x²). |x| ≥ 2: erf = 1 − erfc with
    /// erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))) evaluated bottom-up.
    /// </summary>
    public static Vector256<float> Erf(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var lim = Vector256.Create(TaylorLimit);
        var xs = Vector256.Min(ax, lim);
        var t = xs * xs;
        var s = Vector256.Create(Taylor[TaylorTerms - 1]);
        for (int n = TaylorTerms - 2; n >= 0; n--) s = Madd(s, t, Vector256.Create(Taylor[n]));
        var small = s * xs;

        var z = Vector256.Min(Vector256.Max(ax, lim), Vector256.Create(10f));
        var f = z;
        for (int k = FractionDepth; k >= 1; k--) f = z + Vector256.Create(k * 0.5f) / f;
        var erfc = Vector256.Exp(-(z * z)) / (f * Vector256.Create(1.7724538509055160f));
        var large = Vector256<float>.One - erfc;

        var r = Vector256.ConditionalSelect(Vector256.LessThan(ax, lim), small, large);
        return Vector256.CopySign(r, x);
    }

    /// <summary>Scalar erf through the vector path (same results as the vectorised loops).</summary>
    public static float Erf(float x) => Erf(Vector256.Create(x)).GetElement(0);

    /// <summary>In place: x ← x·½(1 + erf(x/√2)) (Hugging Face "gelu").</summary>
    public static void GeluErf(Span<float> data)
    {
        var inv = Vector256.Create(0.70710678118654752f);
        var half = Vector256.Create(0.5f);
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            var x = Vector256.Create<float>(data.Slice(i, 8));
            var e = Erf(x * inv);
            (half * x * (Vector256<float>.One + e)).CopyTo(data.Slice(i, 8));
        }
        if (i < data.Length)
        {
            Span<float> tmp = stackalloc float[8];
            tmp.Clear();
            data[i..].CopyTo(tmp);
            var x = Vector256.Create<float>(tmp);
            var e = Erf(x * inv);
            (half * x * (Vector256<float>.One + e)).CopyTo(tmp);
            tmp[..(data.Length - i)].CopyTo(data[i..]);
        }
    }

    /// <summary>In place: x ← ½x(1 + tanh(√(2/π)(x + 0.044715x³))) ("gelu_new", "gelu_pytorch_tanh").</summary>
    public static void GeluTanh(Span<float> data)
    {
        const float c = 0.7978845608028654f;
        for (int i = 0; i < data.Length; i++)
        {
            float x = data[i];
            data[i] = 0.5f * x * (1f + MathF.Tanh(c * (x + 0.044715f * x * x * x)));
        }
    }

    public static void Relu(Span<float> data) => System.Numerics.Tensors.TensorPrimitives.Max(data, 0f, data);

    public static void Apply(string act, Span<float> data)
    {
        switch (act)
        {
            case "gelu": GeluErf(data); break;
            case "gelu_new" or "gelu_pytorch_tanh": GeluTanh(data); break;
            case "relu": Relu(data); break;
            default: throw new Capture.AttnScopeException($"activation '{act}' is not supported (gelu, gelu_new, relu)");
        }
    }
}
