using AttnScope.Capture;
using DuckDB.NET.Data;

namespace AttnScope.Corpus;

/// <summary>
/// Histograms of one statistic per head over all sentences of a corpus database: counts[layer][head][bin] over
/// <see cref="Bins"/> equal bins from the statistic's minimum to its maximum, and the mean of each head.
/// </summary>
internal sealed record StatDistribution(string Stat, float Min, float Max, int Bins, long[][][] Counts, float[][] Means, long Sentences)
{
    /// <summary>Reads the histograms of <paramref name="stat"/> with SQL over <c>head_stats</c>.</summary>
    public static StatDistribution Compute(CorpusDatabase db, string stat, int bins)
    {
        if (!CorpusStatNames.IsStat(stat))
            throw new AttnScopeException($"unknown statistic '{stat}': use one of {string.Join(", ", CorpusStatNames.All)}");
        if (bins is < 1 or > 200) throw new AttnScopeException("--bins must be 1..200");
        var info = db.Info();
        int layers = int.Parse(info["layers"], System.Globalization.CultureInfo.InvariantCulture);
        int heads = int.Parse(info["heads"], System.Globalization.CultureInfo.InvariantCulture);
        long sentences = Convert.ToInt64(db.Scalar("SELECT count(*) FROM sentences"));
        if (sentences == 0) throw new AttnScopeException($"'{db.Path}' holds no sentences yet");
        float min, max;
        using (var cmd = db.Connection.CreateCommand())
        {
            cmd.CommandText = $"SELECT min({stat}), max({stat}) FROM head_stats";
            using var r = cmd.ExecuteReader();
            r.Read();
            min = r.GetFloat(0); max = r.GetFloat(1);
        }
        var counts = new long[layers][][];
        var means = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            counts[l] = new long[heads][];
            means[l] = new float[heads];
            for (int h = 0; h < heads; h++) { counts[l][h] = new long[bins]; means[l][h] = float.NaN; }
        }
        float span = max - min;
        using (var cmd = db.Connection.CreateCommand())
        {
            // The bin of v is floor((v - min) / span · bins), the maximum going into the last bin.
            cmd.CommandText = span > 0
                ? $"SELECT layer, head, least(CAST(floor(({stat} - $min) / $span * {bins}) AS INTEGER), {bins - 1}) AS bin, count(*) FROM head_stats GROUP BY ALL"
                : "SELECT layer, head, 0 AS bin, count(*) FROM head_stats GROUP BY ALL";
            if (span > 0)
            {
                cmd.Parameters.Add(new DuckDBParameter("min", (double)min));
                cmd.Parameters.Add(new DuckDBParameter("span", (double)span));
            }
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                int l = r.GetInt32(0), h = r.GetInt32(1), b = Math.Clamp(r.GetInt32(2), 0, bins - 1);
                if (l < layers && h < heads) counts[l][h][b] += r.GetInt64(3);
            }
        }
        using (var cmd = db.Connection.CreateCommand())
        {
            cmd.CommandText = $"SELECT layer, head, avg({stat}) FROM head_stats GROUP BY ALL";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                int l = r.GetInt32(0), h = r.GetInt32(1);
                if (l < layers && h < heads) means[l][h] = (float)r.GetDouble(2);
            }
        }
        return new StatDistribution(stat, min, max, bins, counts, means, sentences);
    }
}
