namespace AttnScope.Analyses.Relevance;

/// <summary>Conversions for the relevance rules, which accumulate products of many layers in double precision.</summary>
internal static class DoubleOps
{
    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i];
        return d;
    }
}
