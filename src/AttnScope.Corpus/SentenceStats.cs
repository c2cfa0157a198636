using AttnScope.Analyses.Heads;
using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>The statistics of every head for one captured sentence: [layers, heads, <see cref="CorpusStatNames.All"/>].</summary>
internal static class SentenceStats
{
    /// <summary>Computes the statistics of a capture's encoder stack.</summary>
    public static float[] Compute(AttentionCapture capture)
    {
        var r = HeadStatistics.Compute(capture, AttentionStack.Encoder);
        var s = capture.Stack(AttentionStack.Encoder);
        int stats = CorpusStatNames.All.Count, n = s.Queries;
        var index = CorpusStatNames.All.Select(name => name == CorpusStatNames.LastTokenShare ? -1 : r.IndexOf(name)).ToArray();
        var data = new float[s.Layers * s.Heads * stats];
        for (int l = 0; l < s.Layers; l++)
            for (int h = 0; h < s.Heads; h++)
            {
                int at = (l * s.Heads + h) * stats;
                for (int c = 0; c < stats; c++)
                {
                    if (index[c] >= 0) data[at + c] = r.Stats.Data[(l * s.Heads + h) * r.StatNames.Count + index[c]];
                    else
                    {
                        var a = s.Attention.Slice(l, h);
                        double sum = 0;
                        for (int i = 0; i < n; i++) sum += a[i * s.Keys + s.Keys - 1];
                        data[at + c] = (float)(sum / n);
                    }
                }
            }
        return data;
    }
}
