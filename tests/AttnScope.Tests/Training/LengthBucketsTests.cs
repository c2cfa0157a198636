using AttnScope.Training.Data;

namespace AttnScope.Tests.Training;

public class LengthBucketsTests
{
    private static int[] Lengths(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(1, 60)).ToArray();
    }

    [Fact]
    public void EveryIndexExactlyOnceAndWithinBudget()
    {
        var lengths = Lengths(1000, 1);
        lengths[17] = 500; // longer than the budget: a batch of its own
        var batches = LengthBuckets.Batches(lengths, 400, new Random(5));
        Assert.Equal(Enumerable.Range(0, 1000), batches.SelectMany(b => b).Order());
        foreach (var b in batches)
            Assert.True(b.Length == 1 || b.Length * b.Max(i => lengths[i]) <= 400, $"batch of {b.Length} with longest {b.Max(i => lengths[i])}");
        Assert.Contains(batches, b => b.SequenceEqual([17]));
    }

    [Fact]
    public void BatchesHoldSimilarLengths()
    {
        var lengths = Lengths(2000, 2);
        var batches = LengthBuckets.Batches(lengths, 600, new Random(3));
        double padding = batches.Sum(b => b.Length * b.Max(i => lengths[i]) - b.Sum(i => lengths[i]));
        // Sorted by length, padding is a small fraction of the tokens (random batches would waste about half).
        Assert.True(padding / lengths.Sum() < 0.05, $"padding fraction {padding / lengths.Sum():F3}");
    }

    [Fact]
    public void DeterministicFromTheRandomAndShuffled()
    {
        var lengths = Lengths(500, 3);
        var a = LengthBuckets.Batches(lengths, 300, new Random(9));
        var b = LengthBuckets.Batches(lengths, 300, new Random(9));
        var c = LengthBuckets.Batches(lengths, 300, new Random(10));
        Assert.Equal(a.Select(x => string.Join(',', x)), b.Select(x => string.Join(',', x)));
        Assert.NotEqual(a.Select(x => string.Join(',', x)), c.Select(x => string.Join(',', x)));
        // Not in length order: some batch is followed by one with shorter examples.
        Assert.Contains(Enumerable.Range(1, a.Count - 1), i => lengths[a[i][0]] < lengths[a[i - 1][0]]);
    }

    [Fact]
    public void EmptyInputGivesNoBatches()
        => Assert.Empty(LengthBuckets.Batches([], 100, new Random(1)));
}
