using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Training.CausalLm;

namespace AttnScope.Tests.CausalLm;

/// <summary>The causal LM trainer: its loss gradient against finite differences, determinism, and that it learns.</summary>
public class CausalLmTrainerTests
{
    internal static InductionRunOptions Tiny(int steps = 40, int shards = 2) => new()
    {
        Vocab = 12, Length = 13, Layers = 1, Hidden = 16, Heads = 2, CheckpointEvery = 10, LogEvery = 5, TestBatch = 2,
        Training = new CausalLmOptions { Steps = steps, BatchSize = 6, LearningRate = 1e-2, MinLearningRate = 1e-3, WarmupSteps = 5, Shards = shards },
    };

    [Fact]
    public void ParametersAreNamedLikeTransformerLensAndLineUpWithTheCoresGradients()
    {
        var p = CausalLmParameters.Create(Tiny().Spec(), seed: 1);
        var names = p.All.Select(x => x.Name).ToList();
        Assert.Equal(["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.b_Q", "blocks.0.attn.W_K", "blocks.0.attn.b_K",
            "blocks.0.attn.W_V", "blocks.0.attn.b_V", "blocks.0.attn.W_O", "blocks.0.attn.b_O", "blocks.0.ln1.w", "blocks.0.ln1.b",
            "ln_final.w", "ln_final.b", "unembed.W_U", "unembed.b_U"], names);
        Assert.Equal(CausalLmParameters.Count(p.Spec), p.All.Sum(x => (long)x.Length));
        foreach (var ((name, value, grad), param) in p.Gradients.Pairs().Zip(p.All))
        {
            Assert.Same(param.Value, value);
            Assert.Same(param.Grad, grad);
        }
        Assert.Equal([16, 16], p.All.Single(x => x.Name == "blocks.0.attn.W_Q").Shape);
        Assert.Equal([12, 16], p.All.Single(x => x.Name == "unembed.W_U").Shape);
    }

    [Fact]
    public void BatchGradientMatchesFiniteDifferencesOfTheMeanCrossEntropy()
    {
        var o = Tiny();
        var p = CausalLmParameters.Create(o.Spec(), seed: 3);
        var trainer = new CausalLmTrainer(p, o.Training);
        var batch = new RepeatedSegmentCorpus(o.Vocab, o.Length, seed: 2).Batch(0, 5); // odd: the shards differ in size
        trainer.ComputeGradients(batch);
        var rng = new Random(9);
        foreach (var param in p.All)
        {
            var dir = param.Value.Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            double analytic = 0;
            for (int i = 0; i < dir.Length; i++) analytic += (double)param.Grad[i] * dir[i];
            var saved = (float[])param.Value.Clone();
            const float eps = 2e-3f;
            for (int i = 0; i < dir.Length; i++) param.Value[i] = saved[i] + eps * dir[i];
            double up = trainer.Evaluate(batch).Loss;
            for (int i = 0; i < dir.Length; i++) param.Value[i] = saved[i] - eps * dir[i];
            double down = trainer.Evaluate(batch).Loss;
            saved.CopyTo(param.Value, 0);
            double numeric = (up - down) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic) <= 2e-2 * Math.Max(0.05, Math.Abs(numeric)),
                $"{param.Name}: analytic {analytic}, numeric {numeric}");
        }
    }

    private static List<double> Losses(InductionRunOptions o, int[][] fixedBatch)
    {
        var p = CausalLmParameters.Create(o.Spec(), o.Training.Seed);
        var trainer = new CausalLmTrainer(p, o.Training);
        var batch = fixedBatch.Select(ids => new CausalLmSequence(ids, new bool[ids.Length - 1])).ToList();
        var losses = new List<double> { trainer.Evaluate(batch).Loss };
        for (int i = 0; i < o.Training.Steps; i++) losses.Add(trainer.TrainStep(batch).Loss.Loss);
        losses.Add(trainer.Evaluate(batch).Loss);
        return losses;
    }

    [Fact]
    public void TrainingFitsAFixedBatchAndIsDeterministic()
    {
        var o = Tiny(steps: 60);
        var rng = new Random(5);
        var fixedBatch = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, o.Length).Select(i => i == 0 ? 0 : rng.Next(1, o.Vocab)).ToArray()).ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var a = Losses(o, fixedBatch);
        var b = Losses(o, fixedBatch);
        Assert.True(clock.Elapsed.TotalSeconds < 20, $"took {clock.Elapsed.TotalSeconds:0.0}s");
        Assert.Equal(a, b); // bit for bit
        Assert.True(a[^1] < 0.5 * a[0], $"loss {a[0]:0.000} → {a[^1]:0.000}");
        // one shard gives the same run up to float rounding of the gradient sums
        var c = Losses(o with { Training = o.Training with { Shards = 1 } }, fixedBatch);
        Assert.Equal(a[^1], c[^1], 2);
    }

    [Fact]
    public void BadOptionsAreOneLineErrors()
    {
        var o = Tiny();
        Assert.Throws<AttnScopeException>(() => new CausalLmTrainer(CausalLmParameters.Create(o.Spec(), 0), o.Training with { LearningRate = -1 }));
        Assert.Throws<AttnScopeException>(() => (o with { Heads = 3 }).Validate());
        Assert.Throws<AttnScopeException>(() => CausalLmParameters.Create(o.Spec() with { LmHead = false, TiedHead = false }, 0));
    }
}
