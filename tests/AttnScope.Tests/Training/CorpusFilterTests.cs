using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Training.Data;

namespace AttnScope.Tests.Training;

/// <summary>Deduplication and length filters with counts, and streaming: pairs come out as the file is read.</summary>
public class CorpusFilterTests
{
    [Fact]
    public void DuplicatesLongAndBadlyProportionedPairsAreCounted()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("c.tsv"),
        [
            "Good morning.\tGuten Morgen.",
            "Good morning.\tGuten Morgen.",          // exact duplicate
            "  Good morning. \tGuten Morgen.",       // the same after trimming
            "Good morning.\tMorgen!",                // same source, other target: kept
            "Yes\teins zwei drei vier fünf sechs",   // 1 word vs 6
            new string('x', 60) + "\tlang",          // 60 characters
        ]);
        var filter = new CorpusFilterOptions { MaxChars = 50, MaxRatio = 4, MaxWords = 100 };
        var r = ParallelCorpusReader.Read(dir.File("c.tsv"), "en", "de", filter);
        Assert.Equal([("Good morning.", "Guten Morgen."), ("Good morning.", "Morgen!")], r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.Equal(2, r.Report.Skipped[CorpusSkipReason.Duplicate]);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.Ratio]);
        Assert.Equal(1, r.Report.Skipped[CorpusSkipReason.OverLongChars]);
        Assert.Contains("duplicate 2", r.Report.ToString());

        // every filter off: all six are kept
        var all = ParallelCorpusReader.Read(dir.File("c.tsv"), "en", "de", new CorpusFilterOptions { MaxChars = 1000, MaxRatio = 0, Dedupe = false });
        Assert.Equal(6, all.Pairs.Count);

        Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("c.tsv"), "en", "de", new CorpusFilterOptions { MaxRatio = 0.5 }));
        Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("c.tsv"), "en", "de", new CorpusFilterOptions { MaxChars = 0 }));
    }

    [Fact]
    public void PairsAreStreamedNotLoadedFirst()
    {
        using var dir = new TempDir();
        var path = dir.File("big.tsv");
        using (var w = new StreamWriter(path))
            for (int i = 0; i < 200_000; i++) w.WriteLine($"sentence {i} here\tSatz {i} hier");
        var stream = ParallelCorpusReader.Open(path, "en", "de");
        Assert.Equal(0, stream.Report.Kept); // opening reads nothing
        var first = stream.Take(10).ToList();
        Assert.Equal("sentence 9 here", first[^1].Source);
        // only what was consumed has been read and counted, not the 200,000 lines
        Assert.InRange(stream.Report.Kept, 10, 11);
        Assert.Throws<InvalidOperationException>(() => stream.First()); // a stream is read once
    }
}
