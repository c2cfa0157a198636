using AttnScope.Training.Model;

namespace AttnScope.Tests.Training;

/// <summary>
/// Finite-difference checks for the training layers. The layers compute in float32, so the reference is a float32
/// central difference (L(θ+h) − L(θ−h)) / 2h with h = 1e-2 (1e-3 across ReLU kinks) on a loss L = Σ r·y accumulated in double (r fixed
/// random weights). Its error is O(h²) plus float rounding of about 1e-6/h, so the comparison allows
/// 3e-3 + 3e-2·|analytic|; a wrong or missing gradient term is off by far more.
/// </summary>
internal static class GradientCheck
{
    public const float H = 1e-2f;

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        var a = GC.AllocateArray<float>(n, pinned: true);
        for (int i = 0; i < n; i++) a[i] = (float)((r.NextDouble() * 2 - 1) * scale);
        return a;
    }

    public static double Dot(float[] y, float[] r, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)y[i] * r[i];
        return s;
    }

    /// <summary>Compares <paramref name="analytic"/>[i] with the central difference of <paramref name="loss"/> in
    /// <paramref name="values"/>[i], for up to <paramref name="samples"/> indices spread over the array.</summary>
    public static void Check(string what, float[] values, float[] analytic, Func<double> loss, Action? touched = null, int samples = 24, int count = -1, float h = H)
    {
        int n = count < 0 ? values.Length : count;
        int step = Math.Max(1, n / samples);
        int checkedCount = 0;
        double maxAnalytic = 0;
        for (int i = 0; i < n; i += step)
        {
            float keep = values[i];
            values[i] = keep + h; touched?.Invoke();
            double plus = loss();
            values[i] = keep - h; touched?.Invoke();
            double minus = loss();
            values[i] = keep; touched?.Invoke();
            double numeric = (plus - minus) / (2 * h);
            double a = analytic[i];
            maxAnalytic = Math.Max(maxAnalytic, Math.Abs(a));
            double tol = 3e-3 + 3e-2 * Math.Abs(a);
            Assert.True(Math.Abs(numeric - a) <= tol, $"{what}[{i}]: analytic {a:G6}, numeric {numeric:G6}");
            checkedCount++;
        }
        Assert.True(checkedCount > 0);
        Assert.True(maxAnalytic > 1e-4, $"{what}: all checked gradients are ~0, the check would prove nothing");
    }

    public static void Check(string what, Parameter p, Func<double> loss, int samples = 24, float h = H) =>
        Check(what, p.Value, p.Grad, loss, p.Touch, samples, h: h);
}
