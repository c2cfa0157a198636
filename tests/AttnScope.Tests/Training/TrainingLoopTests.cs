using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Model;
using AttnScope.Training.Training;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Training;

public class TrainingLoopTests
{
    // Tiny "translation": ids 4..15 on both sides; each target is a permutation/rewrite of its source.
    internal static readonly EncodedPair[] Pairs =
    [
        new([4, 5, 6, 3], [7, 8, 9]),
        new([5, 4, 3], [10, 7]),
        new([6, 6, 11, 3], [12, 9, 9, 13]),
        new([12, 13, 3], [14]),
        new([11, 4, 5, 6, 3], [15, 14, 7, 8]),
    ];

    private static Transformer Model(float dropout) => new(new TransformerConfig
    {
        VocabSize = 16, Dim = 32, Heads = 2, FeedForward = 64, EncoderLayers = 2, DecoderLayers = 2, MaxLength = 16, Dropout = dropout,
    });

    private static TrainingOptions Options => new()
    {
        LearningRate = 3e-3, WarmupSteps = 10, Decay = "constant", LabelSmoothing = 0f, ClipNorm = 1.0, Seed = 5,
    };

    /// <summary>Batches of two shuffled per epoch from (seed, epoch): deterministic like the real plan.</summary>
    private static IReadOnlyList<int[]> Plan(int epoch)
    {
        var order = Enumerable.Range(0, Pairs.Length).ToArray();
        new Random(100 + epoch).Shuffle(order);
        return order.Chunk(2).ToArray();
    }

    [Fact]
    public void TinyModelLearnsAHandfulOfPairsExactly()
    {
        var model = Model(dropout: 0f);
        model.Initialize(1);
        var session = new TrainingSession(model, Options, Pairs, _ => [Enumerable.Range(0, Pairs.Length).ToArray()]);
        StepReport last = default;
        for (int i = 0; i < 150; i++) last = session.Step(0);
        Assert.True(last.Loss.MeanNll < 0.05, $"loss after 150 steps: {last.Loss.MeanNll}");
        foreach (var p in Pairs)
        {
            Assert.Equal(p.Target, Search.Greedy(model, p.Source, 2, 3, 10).Ids);
            Assert.Equal(p.Target, Search.Beam(model, p.Source, 2, 3, 10, beam: 3).Ids);
        }
    }

    [Fact]
    public void ResumingFromACheckpointGivesTheSameNextStepsBitForBit()
    {
        using var dir = new TempDir();
        // straight through: 7 steps (crosses an epoch boundary: 3 batches per epoch)
        var a = Model(dropout: 0.1f);
        a.Initialize(2);
        var straight = new TrainingSession(a, Options, Pairs, Plan);
        for (int i = 0; i < 7; i++) straight.Step(0);

        // 4 steps, checkpoint, then a fresh model and optimizer resume for 3 more
        var b = Model(dropout: 0.1f);
        b.Initialize(2);
        var first = new TrainingSession(b, Options, Pairs, Plan);
        for (int i = 0; i < 4; i++) first.Step(0);
        var path = dir.File("step.safetensors");
        first.SaveCheckpoint(path);

        var c = Model(dropout: 0.1f);
        c.Initialize(99); // different weights: all must come from the checkpoint
        var resumed = new TrainingSession(c, Options, Pairs, Plan);
        resumed.LoadCheckpoint(path);
        Assert.Equal(4, resumed.State.Step);
        Assert.Equal(1, resumed.State.Epoch);
        Assert.Equal(1, resumed.State.BatchInEpoch);
        for (int i = 0; i < 3; i++) resumed.Step(0);

        Assert.Equal(straight.State, resumed.State with { ElapsedSeconds = straight.State.ElapsedSeconds });
        for (int i = 0; i < a.Parameters.Count; i++)
            Assert.True(a.Parameters[i].Value.AsSpan().SequenceEqual(c.Parameters[i].Value), $"{a.Parameters[i].Name} differs after resuming");
    }

    [Fact]
    public void CorruptOrForeignCheckpointsGiveClearErrors()
    {
        using var dir = new TempDir();
        var model = Model(0f);
        var garbage = dir.File("garbage.safetensors");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var e1 = Assert.ThrowsAny<AttnScope.Capture.AttnScopeException>(() => Checkpoint.Load(garbage, model, null));
        Assert.Contains("garbage.safetensors", e1.Message);

        var other = new Transformer(model.Config with { Dim = 16 });
        var otherPath = dir.File("other.safetensors");
        Checkpoint.Save(otherPath, other, null, new TrainingState(1, 0, 0, 0, 0));
        var e2 = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => Checkpoint.Load(otherPath, model, null));
        Assert.Contains("shape", e2.Message);

        var missing = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => Checkpoint.Load(dir.File("nope.safetensors"), model, null));
        Assert.Contains("does not exist", missing.Message);
    }

    [Fact]
    public void ScheduleWarmsUpThenDecays()
    {
        var s = new AttnScope.Training.Optim.LearningRateSchedule(1e-3, 100);
        Assert.Equal(1e-5, s.At(0), 12);
        Assert.Equal(1e-3, s.At(99), 12);
        Assert.Equal(1e-3 * Math.Sqrt(100 / 400.0), s.At(399), 12);
        var cos = new AttnScope.Training.Optim.LearningRateSchedule(1e-3, 10, "cosine", 110);
        Assert.Equal(0.5e-3, cos.At(59), 9);
        Assert.Equal(0, cos.At(109), 9);
    }
}
