using AttnScope.Tests.Support;
using AttnScope.Training.CausalLm;
using Xunit.Abstractions;

namespace AttnScope.Tests.CausalLm;

/// <summary>
/// Induction heads form in the default 2-layer attention-only setting: the max induction score on TransformerLens's
/// repeated-token test starts below 0.2 and passes 0.5 within 1000 steps (the phase change comes at about step
/// 800 with seed 0; the run stops as soon as the score passes 0.5 — about 30 s on an idle 2-core machine, about
/// a minute under load).
/// </summary>
public class InductionFormationTests(ITestOutputHelper output)
{
    [Fact]
    public void MaxInductionScoreRisesFromBelowPointTwoToAbovePointFive()
    {
        var o = new InductionRunOptions { Training = new CausalLmOptions { Steps = 4000, Seed = 0 } };
        var p = CausalLmParameters.Create(o.Spec(), o.Training.Seed);
        var trainer = new CausalLmTrainer(p, o.Training);
        var corpus = new RepeatedSegmentCorpus(o.Vocab, o.Length, o.Training.Seed);
        var test = TutorialHeadScores.RepeatedTokens(o.Vocab, o.TestRepeat, o.TestBatch, seed: 12345);
        var before = TutorialHeadScores.Measure(p.Model(), test);
        Assert.True(before.MaxInduction < 0.2f, $"untrained max induction score {before.MaxInduction}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HeadScores after = before;
        while (trainer.Step < 1000)
        {
            trainer.TrainStep(corpus.Batch(trainer.Step, o.Training.BatchSize));
            if (trainer.Step % 50 != 0) continue;
            after = TutorialHeadScores.Measure(p.Model(), test);
            output.WriteLine($"step {trainer.Step}: max induction {after.MaxInduction:0.000}, max previous-token {after.MaxPreviousToken:0.000}, {clock.Elapsed.TotalSeconds:0}s");
            if (after.MaxInduction > 0.5f) break;
        }
        Assert.True(after.MaxInduction > 0.5f, $"max induction score {after.MaxInduction} after {trainer.Step} steps");
        // the induction head sits in the second layer (it needs a previous-token head below it)
        Assert.Equal(1, after.BestInductionHead().Layer);
        // and the repeated tokens are now far easier than the random ones
        var loss = trainer.Evaluate(corpus.Batch(100_000, 64));
        Assert.True(loss.RepeatedLoss < loss.OtherLoss - 1.5, $"repeated {loss.RepeatedLoss:0.00} vs other {loss.OtherLoss:0.00}");
    }

    [Fact]
    public void CheckpointRoundTripRestoresEveryTensor()
    {
        using var dir = new TempDir();
        var o = CausalLmTrainerTests.Tiny();
        var a = CausalLmParameters.Create(o.Spec(), seed: 1);
        var path = CausalLmCheckpoint.Save(dir.Path, a, step: 7);
        var b = CausalLmParameters.Create(o.Spec(), seed: 2);
        Assert.NotEqual(a.All[0].Value, b.All[0].Value);
        Assert.Equal(7, CausalLmCheckpoint.Load(path, b));
        foreach (var (x, y) in a.All.Zip(b.All)) Assert.Equal(x.Value, y.Value);
        var other = CausalLmParameters.Create((o with { Hidden = 8 }).Spec(), 0);
        var e = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => CausalLmCheckpoint.Load(path, other));
        Assert.Contains("embed.W_E", e.Message);
    }
}
