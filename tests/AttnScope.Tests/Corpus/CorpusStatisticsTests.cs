using AttnScope.Capture;
using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>
/// The statistics a corpus database holds equal those computed here, with plain loops, from the attention of a
/// separate <c>attnscope capture</c> of the same sentence (one sequence, not a batch).
/// </summary>
[Collection("minilm")]
public sealed class CorpusStatisticsTests
{
    [Fact]
    public void StoredStatisticsEqualDirectComputationOnAnIndependentCapture()
    {
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db, "--batch", "3", "--qk-heads", "2.3,5.0", "--qk-tokens", "5");
        AssertComplete(db, NonBlankLines(Lines));

        const long line = 5; // "She said that the meeting ..."
        var capPath = dir.File("one.safetensors");
        var (code, _, err) = CliTests.Run("capture", "--model", "minilm", "--text", Lines[line - 1], "--qkv", "-o", capPath);
        Assert.True(code == 0, err);
        var cap = AttentionCapture.Load(capPath);
        var s = cap.Stacks["encoder"];
        int n = s.Queries;
        Assert.Equal(n, (int)Longs(db, $"SELECT n_tokens FROM sentences WHERE line = {line}")[0]);

        using var d = CorpusDatabase.OpenReadOnly(db);
        using var cmd = d.Connection.CreateCommand();
        cmd.CommandText = $"SELECT layer, head, entropy, max_weight, diagonal, previous_token, next_token, first_token_share, last_token_share, mean_distance FROM head_stats WHERE line = {line}";
        using var r = cmd.ExecuteReader();
        int rows = 0;
        while (r.Read())
        {
            rows++;
            int l = r.GetInt32(0), h = r.GetInt32(1);
            double ent = 0, max = 0, diag = 0, prev = 0, next = 0, first = 0, last = 0, dist = 0;
            for (int i = 0; i < n; i++)
            {
                double m = 0;
                for (int j = 0; j < n; j++)
                {
                    double a = s.Attention[l, h, i, j];
                    if (a > 0) ent -= a * Math.Log(a);
                    m = Math.Max(m, a);
                    dist += a * Math.Abs(i - j);
                }
                max += m;
                diag += s.Attention[l, h, i, i];
                if (i > 0) prev += s.Attention[l, h, i, i - 1];
                if (i < n - 1) next += s.Attention[l, h, i, i + 1];
                first += s.Attention[l, h, i, 0];
                last += s.Attention[l, h, i, n - 1];
            }
            const double tol = 2e-4;
            Assert.Equal(ent / n, r.GetFloat(2), tol);
            Assert.Equal(max / n, r.GetFloat(3), tol);
            Assert.Equal(diag / n, r.GetFloat(4), tol);
            Assert.Equal(prev / (n - 1), r.GetFloat(5), tol);
            Assert.Equal(next / (n - 1), r.GetFloat(6), tol);
            Assert.Equal(first / n, r.GetFloat(7), tol);
            Assert.Equal(last / n, r.GetFloat(8), tol);
            Assert.Equal(dist / n, r.GetFloat(9), 1e-3);
        }
        Assert.Equal(6 * 12, rows);

        // Queries and keys of the stored heads are those of the capture at the sampled positions.
        using var qk = d.Connection.CreateCommand();
        qk.CommandText = $"SELECT layer, head, token, query, key FROM qk_vectors WHERE line = {line} ORDER BY layer, head, token";
        using var q = qk.ExecuteReader();
        int vectors = 0;
        int dHead = s.Query!.Shape[3];
        while (q.Read())
        {
            vectors++;
            int l = q.GetInt32(0), h = q.GetInt32(1), t = q.GetInt32(2);
            Assert.False(cap.Tokens[t].IsSpecial);
            var query = ((IEnumerable<float>)q.GetValue(3)).ToArray();
            var key = ((IEnumerable<float>)q.GetValue(4)).ToArray();
            Assert.Equal(dHead, query.Length);
            for (int j = 0; j < dHead; j++)
            {
                Assert.Equal(s.Query[l, h, t, j], query[j], 1e-3f);
                Assert.Equal(s.Key![l, h, t, j], key[j], 1e-3f);
            }
        }
        Assert.Equal(2 * 5, vectors); // two heads × five sampled tokens
    }
}
