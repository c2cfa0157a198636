using AttnScope.Analyses.Heads;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Head statistics on heads built to have one known behaviour each, with the expected values worked out by hand
/// from the construction (not from the code), and the role each construction must get.
/// </summary>
public class HeadStatisticsTests
{
    private const int N = 10;

    /// <summary>Six heads: previous token, next token, self, offset −3, [CLS]/[SEP] sink, uniform.</summary>
    private static AttentionCapture Patterned()
    {
        var t = new FloatTensor([1, 6, N, N]);
        for (int i = 0; i < N; i++)
        {
            t[0, 0, i, Math.Max(i - 1, 0)] = 1f;
            t[0, 1, i, Math.Min(i + 1, N - 1)] = 1f;
            t[0, 2, i, i] = 1f;
            t[0, 3, i, (i + N - 3) % N] = 1f;
            t[0, 4, i, 0] = 0.5f;
            t[0, 4, i, N - 1] = 0.5f;
            for (int j = 0; j < N; j++) t[0, 5, i, j] = 1f / N;
        }
        return SyntheticCaptures.Make(SyntheticCaptures.Tokens(N), t);
    }

    [Fact]
    public void Each_constructed_head_gets_its_role()
    {
        var r = HeadStatistics.Compute(Patterned());
        Assert.Equal(["previous-token", "next-token", "self", "positional", "sink", "broad"], r.Roles[0]);
    }

    [Fact]
    public void Statistics_equal_hand_computed_values()
    {
        var r = HeadStatistics.Compute(Patterned());
        // Previous-token head: rows 1..9 put all weight on i−1; row 0 on itself. previous_token = 9/9 over rows ≥ 1.
        Assert.Equal(1f, r.Stat(0, 0, HeadStatNames.PreviousToken), 1e-6f);
        Assert.Equal(0.1f, r.Stat(0, 0, HeadStatNames.Diagonal), 1e-6f);
        Assert.Equal(0.9f, r.Stat(0, 0, HeadStatNames.MeanDistance), 1e-6f);
        Assert.Equal(-1f, r.Stat(0, 0, HeadStatNames.PositionalOffset));
        // The positional score counts the rows that have a key at i − 1 (rows 1..9): all 9 of them.
        Assert.Equal(1f, r.Stat(0, 0, HeadStatNames.PositionalScore), 1e-6f);
        Assert.Equal(0f, r.Stat(0, 0, HeadStatNames.Entropy), 1e-6f);
        Assert.Equal(1f, r.Stat(0, 0, HeadStatNames.MaxWeight), 1e-6f);
        // Offset −3 (wrapping): rows 3..9 at distance 3, rows 0..2 at distance 7 → (7·3 + 3·7) / 10 = 4.2.
        Assert.Equal(4.2f, r.Stat(0, 3, HeadStatNames.MeanDistance), 1e-5f);
        Assert.Equal(-3f, r.Stat(0, 3, HeadStatNames.PositionalOffset));
        // Rows 3..9 have a key at i − 3 and all attend there; rows 0..2 wrap around and do not count.
        Assert.Equal(1f, r.Stat(0, 3, HeadStatNames.PositionalScore), 1e-6f);
        // Sink head: all weight on [CLS] and [SEP] (special), none on punctuation tokens.
        Assert.Equal(1f, r.Stat(0, 4, HeadStatNames.SpecialShare), 1e-6f);
        Assert.Equal(1f, r.Stat(0, 4, HeadStatNames.SinkShare), 1e-6f);
        Assert.Equal(Math.Log(2), r.Stat(0, 4, HeadStatNames.Entropy), 1e-5);
        // Uniform head: entropy ln 10, normalised 1; special share 2/10.
        Assert.Equal(Math.Log(N), r.Stat(0, 5, HeadStatNames.Entropy), 1e-5);
        Assert.Equal(1f, r.Stat(0, 5, HeadStatNames.EntropyNorm), 1e-5f);
        Assert.Equal(0.2f, r.Stat(0, 5, HeadStatNames.SpecialShare), 1e-6f);
        // Tokens(10) holds one punctuation token ("!" at index 4), so the uniform head's punctuation share is 1/10.
        Assert.Equal("!", SyntheticCaptures.Tokens(N)[4].Text);
        Assert.Equal(0.1f, r.Stat(0, 5, HeadStatNames.PunctuationShare), 1e-6f);
    }

    [Fact]
    public void Punctuation_counts_toward_the_sink_share()
    {
        var tokens = new List<CaptureToken>
        {
            new("[CLS]", 101, -1, -1, Segment.A, true), new("hello", 7, 0, 5, Segment.A, false), new(",", 8, 5, 6, Segment.A, false),
            new("world", 9, 7, 12, Segment.A, false), new(".", 10, 12, 13, Segment.A, false), new("[SEP]", 102, -1, -1, Segment.A, true),
        };
        var t = new FloatTensor([1, 1, 6, 6]);
        for (int i = 0; i < 6; i++) { t[0, 0, i, 2] = 0.5f; t[0, 0, i, 4] = 0.25f; t[0, 0, i, 1] = 0.25f; }
        var r = HeadStatistics.Compute(SyntheticCaptures.Make(tokens, t));
        Assert.Equal(0.75f, r.Stat(0, 0, HeadStatNames.PunctuationShare), 1e-6f);
        Assert.Equal(0f, r.Stat(0, 0, HeadStatNames.SpecialShare), 1e-6f);
        Assert.Equal(0.75f, r.Stat(0, 0, HeadStatNames.SinkShare), 1e-6f);
        Assert.Equal(HeadRoles.Sink, r.Roles[0][0]);
        Assert.True(HeadStatistics.IsPunctuation("##."));
        Assert.False(HeadStatistics.IsPunctuation("##s"));
        Assert.False(HeadStatistics.IsPunctuation("a."));
    }

    [Fact]
    public void Decoder_heads_get_an_induction_score_from_repeated_tokens()
    {
        // Target tokens: <s> A B C A B C. A query on the second A (index 4) should look at B (index 2), the token that
        // followed the first A; the second B (5) at C (3); the second C (6) at A (4).
        string[] words = ["<s>", "A", "B", "C", "A", "B", "C"];
        var tgt = words.Select((w, i) => new CaptureToken(w, w == "<s>" ? 0 : w[0], -1, -1, Segment.B, i == 0)).ToList();
        var src = SyntheticCaptures.Tokens(3);
        int n = tgt.Count;
        var induction = new FloatTensor([1, 2, n, n]);
        for (int i = 0; i < n; i++)
        {
            induction[0, 1, i, i] = 1f; // head 1: self (causal)
            int target = i >= 4 ? i - 2 : i; // head 0: induction where possible, else itself
            induction[0, 0, i, target] = 1f;
        }
        var meta = new CaptureMetadata { ModelId = "t", Architecture = "encoder-decoder", Source = "managed" };
        var cap = new AttentionCapture(meta, src,
        [
            new AttentionStack(AttentionStack.Encoder, SyntheticCaptures.RandomAttention(1, 2, 3, 1)),
            new AttentionStack(AttentionStack.Decoder, induction),
            new AttentionStack(AttentionStack.Cross, SyntheticCaptures.RandomAttention(1, 2, n, 2, keys: 3)),
        ], tgt);
        var r = HeadStatistics.Compute(cap, AttentionStack.Decoder);
        Assert.Equal(1f, r.Stat(0, 0, HeadStatNames.Induction), 1e-6f);
        Assert.Equal(0f, r.Stat(0, 1, HeadStatNames.Induction), 1e-6f);
        Assert.Equal(HeadRoles.Induction, r.Roles[0][0]);
        Assert.Equal(HeadRoles.Self, r.Roles[0][1]);
        // The causal mask: a decoder row i sees i + 1 keys, so the normalised entropy of a one-hot row is 0 and row 0
        // (one visible key) counts as 0, never NaN.
        Assert.Equal(0f, r.Stat(0, 1, HeadStatNames.EntropyNorm), 1e-6f);
        // Cross attention has no positional statistics and no induction.
        var cross = HeadStatistics.Compute(cap, AttentionStack.Cross);
        Assert.DoesNotContain(HeadStatNames.PreviousToken, cross.StatNames);
        Assert.DoesNotContain(HeadStatNames.Induction, cross.StatNames);
    }

    [Fact]
    public void Roles_and_statistics_survive_save_and_load()
    {
        using var dir = new TempDir();
        var cap = Patterned();
        var r = HeadStatistics.Compute(cap);
        cap.WithAnalyses([r.ToAnalysis()]).Save(dir.File("s.safetensors"));
        var back = HeadStatsResult.From(AttentionCapture.Load(dir.File("s.safetensors")), AttentionStack.Encoder)!;
        Assert.Equal(r.StatNames, back.StatNames);
        Assert.Equal(r.Stats.Data, back.Stats.Data);
        Assert.Equal(r.Roles.Select(x => x.ToArray()), back.Roles.Select(x => x.ToArray()));
    }
}
