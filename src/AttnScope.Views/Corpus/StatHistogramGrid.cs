namespace AttnScope.Views.Corpus;

/// <summary>
/// Histograms of one statistic over a corpus for every head: <see cref="Counts"/>[layer][head][bin] counts sentences
/// whose value falls in bin b of <see cref="Bins"/> equal bins from <see cref="Min"/> to <see cref="Max"/>;
/// <see cref="Means"/>[layer][head] is the mean value.
/// </summary>
internal sealed record StatHistogramGrid(string Stat, float Min, float Max, int Bins, long[][][] Counts, float[][] Means, long Sentences);
