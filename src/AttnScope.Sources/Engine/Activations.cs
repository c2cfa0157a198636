using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AttnScope.Sources.Engine;

/// <summary>
/// Feed-forward activations: exact GELU (through erfc to about 2e-7 absolute; a relative-accurate vectorised
/// float erf is kept for the scalar <see cref="Erf(float)"/>), the tanh GELU
/// approximation (<c>gelu_new</c>), and ReLU.
/// </summary>
internal static class Activations
{
    private const int TaylorTerms = 11;
    private const float TaylorLimit = 1f;
    private const int ChebyshevDegree = 11;
    private const double TailLow = 1, TailHigh = 4;
    private static readonly float[] Taylor = BuildTaylor();
    private static readonly float[] Chebyshev = BuildChebyshev();

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

    /// <summary>erfc(x) in double for 1 ≤ x ≤ 4: 1 − series below 3 (absolute error ~1e-16), continued fraction above.</summary>
    private static double ErfcDouble(double x)
    {
        if (x < 3)
        {
            double sum = 0, term = x;
            for (int n = 0; n < 120; n++)
            {
                sum += term / (2 * n + 1);
                term *= -x * x / (n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        double f = x;
        for (int k = 400; k >= 1; k--) f = x + k * 0.5 / f;
        return Math.Exp(-x * x) / (Math.Sqrt(Math.PI) * f);
    }

    // Chebyshev interpolant of the smooth factor R(x) = erfc(x)·e^(x²) on [1, 4], in u = (x − 2.5)/1.5.
    private static float[] BuildChebyshev()
    {
        int n = ChebyshevDegree + 1;
        double mid = (TailLow + TailHigh) / 2, half = (TailHigh - TailLow) / 2;
        var f = new double[n];
        for (int k = 0; k < n; k++)
        {
            double x = mid + half * Math.Cos(Math.PI * (k + 0.5) / n);
            f[k] = ErfcDouble(x) * Math.Exp(x * x);
        }
        // Chebyshev coefficients, then expanded into powers of u (in double) for a plain Horner evaluation.
        var mono = new double[n];
        var tPrev = new double[n];
        var tCur = new double[n];
        tPrev[0] = 1; // T0
        tCur[1] = 1;  // T1
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int k = 0; k < n; k++) s += f[k] * Math.Cos(Math.PI * j * (k + 0.5) / n);
            double cj = s * 2 / n * (j == 0 ? 0.5 : 1);
            var tj = j == 0 ? tPrev : tCur;
            for (int i = 0; i < n; i++) mono[i] += cj * tj[i];
            if (j >= 1)
            {
                // T(j+1) = 2u·T(j) − T(j−1)
                var next = new double[n];
                for (int i = 0; i < n; i++) next[i] = (i > 0 ? 2 * tCur[i - 1] : 0) - tPrev[i];
                tPrev = tCur;
                tCur = next;
            }
        }
        return Array.ConvertAll(mono, v => (float)v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>
    /// erf on 8 lanes. |x| &lt; 1: the Maclaurin series (11 terms, float Horner in x²; relative error ~1e-7).
    /// 1 ≤ |x| &lt; 4: erf = 1 − e^(−x²)·R(x), R a degree-11 Chebyshev interpolant of erfc(x)·e^(x²) built in double
    /// at start-up and expanded into powers of u (Horner in float). |x| ≥ 4: ±1 (erfc(4) is below half a float ulp of 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var one = Vector256<float>.One;
        var xs = Vector256.Min(ax, one);
        var t = xs * xs;
        var s = Vector256.Create(Taylor[TaylorTerms - 1]);
        for (int n = TaylorTerms - 2; n >= 0; n--) s = Madd(s, t, Vector256.Create(Taylor[n]));
        var small = s * xs;

        var z = Vector256.Min(Vector256.Max(ax, one), Vector256.Create((float)TailHigh));
        var u = (z - Vector256.Create((float)((TailLow + TailHigh) / 2))) * Vector256.Create((float)(2 / (TailHigh - TailLow)));
        var r = Vector256.Create(Chebyshev[ChebyshevDegree]);
        for (int j = ChebyshevDegree - 1; j >= 0; j--) r = Madd(r, u, Vector256.Create(Chebyshev[j]));
        var large = one - FastMath.ExpNonPositive(-(z * z)) * r;
        large = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(ax, Vector256.Create((float)TailHigh)), one, large);

        var result = Vector256.ConditionalSelect(Vector256.LessThan(ax, one), small, large);
        return Vector256.CopySign(result, x);
    }

    /// <summary>Scalar erf through the vector path (same results as the vectorised loops).</summary>
    public static float Erf(float x) => Erf(Vector256.Create(x)).GetElement(0);

    /// <summary>
    /// In place: x ← x·½(1 + erf(x/√2)) (Hugging Face "gelu"). Written as x·Φ(x) with the upper tail
    /// c = ½·erfc(|x|/√2) = e^(−x²/2)·P(t), t = 1/(1 + p·|x|/√2), P the degree-5 polynomial of Abramowitz &amp;
    /// Stegun 7.1.26 (absolute error of erf ≤ 1.5e-7) with its coefficients halved: GELU needs erf to absolute,
    /// not relative, accuracy, so one formula covers every x (the relative-accurate <see cref="Erf(Vector256{float})"/>
    /// evaluates two polynomials of degree 11 per lane). Then GELU = x − x·c for x ≥ 0 and x·c below; worst error
    /// about 2e-7·max(1, |GELU|), far inside float rounding of the layer around it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluErf(Span<float> data)
    {
        ref float d0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data);
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            Gelu(Vector256.LoadUnsafe(ref d0, (nuint)i)).StoreUnsafe(ref d0, (nuint)i);
        if (i < data.Length)
        {
            Span<float> tmp = stackalloc float[8];
            tmp.Clear();
            data[i..].CopyTo(tmp);
            Gelu(Vector256.Create<float>(tmp)).CopyTo(tmp);
            tmp[..(data.Length - i)].CopyTo(data[i..]);
        }
    }

    /// <summary>GELU on 8 lanes (see <see cref="GeluErf"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gelu(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var t = Vector256<float>.One / Madd(ax, Vector256.Create(0.23164188861846924f), Vector256<float>.One); // p/√2
        var q = Vector256.Create(0.5307027101516724f);
        q = Madd(q, t, Vector256.Create(-0.726576030254364f));
        q = Madd(q, t, Vector256.Create(0.710706889629364f));
        q = Madd(q, t, Vector256.Create(-0.14224836230278015f));
        q = Madd(q, t, Vector256.Create(0.1274147927761078f));
        var c = q * t * FastMath.ExpNonPositive(x * x * Vector256.Create(-0.5f));
        var y = x * c;
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), x - y, y);
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
