using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Tests.Engine;

/// <summary>
/// An independent, deliberately plain BERT forward pass in double precision, used only as a test oracle.
/// Shares no code with the engine.
/// </summary>
internal sealed class NaiveBert
{
    public double[,] Hidden = null!;
    public double[,,,] Attention = null!, Scores = null!, Q = null!, K = null!, V = null!;

    private static double Erf(double x) => ErfTests.ReferenceErf(x);

    private static double[] W(WeightStore w, string name) => Array.ConvertAll(w.Get(name).Data, f => (double)f);

    private static double[,] Linear(double[,] x, double[] weight, double[] bias, int outDim)
    {
        int n = x.GetLength(0), inDim = x.GetLength(1);
        var y = new double[n, outDim];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < outDim; o++)
            {
                double s = bias[o];
                for (int j = 0; j < inDim; j++) s += x[i, j] * weight[o * inDim + j];
                y[i, o] = s;
            }
        return y;
    }

    private static void LayerNorm(double[,] x, double[] g, double[] b, double eps)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        for (int i = 0; i < n; i++)
        {
            double mean = 0;
            for (int j = 0; j < d; j++) mean += x[i, j];
            mean /= d;
            double var = 0;
            for (int j = 0; j < d; j++) var += (x[i, j] - mean) * (x[i, j] - mean);
            var /= d;
            for (int j = 0; j < d; j++) x[i, j] = (x[i, j] - mean) / Math.Sqrt(var + eps) * g[j] + b[j];
        }
    }

    public static NaiveBert Run(BertConfig c, WeightStore w, int[] ids, int[] types)
    {
        int n = ids.Length, h = c.HiddenSize, heads = c.NumHeads, dh = h / heads, L = c.NumLayers;
        var r = new NaiveBert
        {
            Attention = new double[L, heads, n, n], Scores = new double[L, heads, n, n],
            Q = new double[L, heads, n, dh], K = new double[L, heads, n, dh], V = new double[L, heads, n, dh],
        };
        var wte = W(w, "embeddings.word_embeddings.weight");
        var wpe = W(w, "embeddings.position_embeddings.weight");
        var wtt = W(w, "embeddings.token_type_embeddings.weight");
        var x = new double[n, h];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < h; j++)
                x[i, j] = wte[ids[i] * h + j] + wpe[i * h + j] + wtt[types[i] * h + j];
        LayerNorm(x, W(w, "embeddings.LayerNorm.weight"), W(w, "embeddings.LayerNorm.bias"), c.LayerNormEps);

        for (int l = 0; l < L; l++)
        {
            string p = $"encoder.layer.{l}.";
            var q = Linear(x, W(w, p + "attention.self.query.weight"), W(w, p + "attention.self.query.bias"), h);
            var k = Linear(x, W(w, p + "attention.self.key.weight"), W(w, p + "attention.self.key.bias"), h);
            var v = Linear(x, W(w, p + "attention.self.value.weight"), W(w, p + "attention.self.value.bias"), h);
            var ctx = new double[n, h];
            for (int hd = 0; hd < heads; hd++)
            {
                for (int i = 0; i < n; i++)
                    for (int d = 0; d < dh; d++)
                    {
                        r.Q[l, hd, i, d] = q[i, hd * dh + d];
                        r.K[l, hd, i, d] = k[i, hd * dh + d];
                        r.V[l, hd, i, d] = v[i, hd * dh + d];
                    }
                for (int i = 0; i < n; i++)
                {
                    var s = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < dh; d++) dot += q[i, hd * dh + d] * k[j, hd * dh + d];
                        s[j] = dot / Math.Sqrt(dh);
                        r.Scores[l, hd, i, j] = s[j];
                    }
                    double max = s.Max(), sum = 0;
                    for (int j = 0; j < n; j++) sum += Math.Exp(s[j] - max);
                    for (int j = 0; j < n; j++) r.Attention[l, hd, i, j] = Math.Exp(s[j] - max) / sum;
                    for (int d = 0; d < dh; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += r.Attention[l, hd, i, j] * v[j, hd * dh + d];
                        ctx[i, hd * dh + d] = acc;
                    }
                }
            }
            var ao = Linear(ctx, W(w, p + "attention.output.dense.weight"), W(w, p + "attention.output.dense.bias"), h);
            for (int i = 0; i < n; i++) for (int j = 0; j < h; j++) x[i, j] += ao[i, j];
            LayerNorm(x, W(w, p + "attention.output.LayerNorm.weight"), W(w, p + "attention.output.LayerNorm.bias"), c.LayerNormEps);

            var mid = Linear(x, W(w, p + "intermediate.dense.weight"), W(w, p + "intermediate.dense.bias"), c.IntermediateSize);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < c.IntermediateSize; j++)
                {
                    double z = mid[i, j];
                    mid[i, j] = c.HiddenAct switch
                    {
                        "gelu" => 0.5 * z * (1 + Erf(z / Math.Sqrt(2))),
                        "relu" => Math.Max(0, z),
                        _ => 0.5 * z * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z))),
                    };
                }
            var o = Linear(mid, W(w, p + "output.dense.weight"), W(w, p + "output.dense.bias"), h);
            for (int i = 0; i < n; i++) for (int j = 0; j < h; j++) x[i, j] += o[i, j];
            LayerNorm(x, W(w, p + "output.LayerNorm.weight"), W(w, p + "output.LayerNorm.bias"), c.LayerNormEps);
        }
        r.Hidden = x;
        return r;
    }

    /// <summary>Random weights of the right shapes: uniform values, LayerNorm gains near 1.</summary>
    public static WeightStore RandomWeights(BertConfig c, int seed, float scale = 0.3f)
    {
        var rng = new Random(seed);
        var store = new WeightStore("random test weights");
        int h = c.HiddenSize, I = c.IntermediateSize;
        FloatTensor T(float s, float center, params int[] shape)
        {
            var t = new FloatTensor(shape);
            for (int i = 0; i < t.Data.Length; i++) t.Data[i] = center + (float)(rng.NextDouble() * 2 - 1) * s;
            return t;
        }
        store.Add("embeddings.word_embeddings.weight", T(1f, 0, c.VocabSize, h));
        store.Add("embeddings.position_embeddings.weight", T(0.5f, 0, c.MaxPositions, h));
        store.Add("embeddings.token_type_embeddings.weight", T(0.5f, 0, c.TypeVocabSize, h));
        store.Add("embeddings.LayerNorm.weight", T(0.1f, 1, h));
        store.Add("embeddings.LayerNorm.bias", T(0.1f, 0, h));
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"encoder.layer.{l}.";
            foreach (var name in new[] { "query", "key", "value" })
            {
                store.Add(p + $"attention.self.{name}.weight", T(scale, 0, h, h));
                store.Add(p + $"attention.self.{name}.bias", T(0.1f, 0, h));
            }
            store.Add(p + "attention.output.dense.weight", T(scale, 0, h, h));
            store.Add(p + "attention.output.dense.bias", T(0.1f, 0, h));
            store.Add(p + "attention.output.LayerNorm.weight", T(0.1f, 1, h));
            store.Add(p + "attention.output.LayerNorm.bias", T(0.1f, 0, h));
            store.Add(p + "intermediate.dense.weight", T(scale, 0, I, h));
            store.Add(p + "intermediate.dense.bias", T(0.1f, 0, I));
            store.Add(p + "output.dense.weight", T(scale / 2, 0, h, I));
            store.Add(p + "output.dense.bias", T(0.1f, 0, h));
            store.Add(p + "output.LayerNorm.weight", T(0.1f, 1, h));
            store.Add(p + "output.LayerNorm.bias", T(0.1f, 0, h));
        }
        return store;
    }
}
