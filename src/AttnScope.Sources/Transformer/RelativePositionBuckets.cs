namespace AttnScope.Sources.Transformer;

/// <summary>
/// T5's relative-position buckets (Raffel et al. 2020, as Hugging Face's <c>T5Attention._relative_position_bucket</c>):
/// the offset key − query maps to one of <c>buckets</c> learned biases per head. A bidirectional stack (the encoder)
/// gives half the buckets to keys after the query; within a half, the first <c>exact</c> distances (half the half)
/// have a bucket each and longer ones share buckets logarithmically up to <c>maxDistance</c>, beyond which all share
/// the last. A causal stack (the decoder) uses every bucket for keys at or before the query (later keys fall in
/// bucket 0 but are masked anyway). The bias is added to the scores before the softmax; the cross-attention has none.
/// </summary>
internal static class RelativePositionBuckets
{
    /// <summary>Distances with a bucket of their own.</summary>
    public static int ExactBuckets(bool bidirectional, int buckets) => (bidirectional ? buckets / 2 : buckets) / 2;

    /// <summary>The bucket of <paramref name="relative"/> = key position − query position.</summary>
    public static int Bucket(int relative, bool bidirectional, int buckets, int maxDistance)
    {
        int bucket = 0, n;
        if (bidirectional)
        {
            buckets /= 2;
            if (relative > 0) bucket = buckets;
            n = Math.Abs(relative);
        }
        else n = Math.Max(-relative, 0);
        int exact = buckets / 2;
        if (n < exact) return bucket + n;
        // float32 as the reference computes it, truncated toward zero
        float large = MathF.Log((float)n / exact) / (float)Math.Log((double)maxDistance / exact) * (buckets - exact);
        return bucket + Math.Min(exact + (int)large, buckets - 1);
    }

    /// <summary>
    /// Biases by offset for every head: row h holds, at <c>center + (key − query)</c>, the bias of that offset, for
    /// offsets −(span−1) … span−1 (<c>center</c> = span − 1). <paramref name="table"/> is [buckets, heads], the layout
    /// of T5's <c>relative_attention_bias.weight</c>.
    /// </summary>
    public static float[] OffsetTable(float[] table, int heads, int span, bool bidirectional, int buckets, int maxDistance)
    {
        int width = 2 * span - 1, center = span - 1;
        var r = new float[(long)heads * width];
        for (int k = 0; k < width; k++)
        {
            int b = Bucket(k - center, bidirectional, buckets, maxDistance);
            for (int h = 0; h < heads; h++) r[h * width + k] = table[b * heads + h];
        }
        return r;
    }
}
