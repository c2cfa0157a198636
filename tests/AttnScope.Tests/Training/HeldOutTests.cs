using System.Text.Json;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Model;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

/// <summary>Held-out pairs are drawn at random with a fixed seed (not the last lines), said in the output and the run
/// folder; --valid gives a held-out file instead.</summary>
public class HeldOutTests
{
    private static string Corpus(TempDir dir, int pairs)
    {
        var path = dir.File("corpus.tsv");
        File.WriteAllLines(path, Enumerable.Range(0, pairs).Select(i => $"sentence number {i}\tSatz Nummer {i}"));
        return path;
    }

    [Fact]
    public void HeldOutPairsAreDrawnAtRandomWithTheSeed()
    {
        using var dir = new TempDir();
        var path = Corpus(dir, 500);
        var options = new TrainingOptions();
        var a = CorpusLoader.Load(path, "en", "de", options, new DataOptions { HeldOutSeed = 7 });
        Assert.Equal(10, a.Test.Count);                // 2 % of 500
        Assert.Equal(490, a.Train.Count);
        var lastTen = Enumerable.Range(490, 10).Select(i => $"sentence number {i}");
        Assert.NotEqual(lastTen, a.Test.Select(p => p.Source));
        Assert.Equal(500, a.Train.Concat(a.Test).Select(p => p.Source).Distinct().Count()); // a split, nothing lost or doubled
        Assert.Contains("held out 10 of 500 pairs", a.HeldOut);
        Assert.Contains("seed 7", a.HeldOut);

        var again = CorpusLoader.Load(path, "en", "de", options, new DataOptions { HeldOutSeed = 7 });
        Assert.Equal(a.Test.Select(p => p.Source), again.Test.Select(p => p.Source));
        var other = CorpusLoader.Load(path, "en", "de", options, new DataOptions { HeldOutSeed = 8 });
        Assert.NotEqual(a.Test.Select(p => p.Source), other.Test.Select(p => p.Source));

        // a run made before data options (no "data" in config.json) still holds out its last lines
        var legacy = CorpusLoader.Load(path, "en", "de", options, data: null);
        Assert.Equal(lastTen, legacy.Test.Select(p => p.Source));
    }

    [Fact]
    public void ValidFileIsTheHeldOutSetAndTheRunFolderSaysSo()
    {
        using var dir = new TempDir();
        var path = Corpus(dir, 120);
        var valid = dir.File("valid.tsv");
        File.WriteAllLines(valid, ["a held-out sentence\tein Satz", "another one\tnoch einer", "another one\tnoch einer"]);
        var loaded = CorpusLoader.Load(path, "en", "de", new TrainingOptions(), new DataOptions { Valid = valid, HeldOut = DataOptions.ValidFile });
        Assert.Equal(120, loaded.Train.Count);       // nothing held out of the corpus
        Assert.Equal(3, loaded.Test.Count);          // a test set is scored as it is: no deduplication
        Assert.Contains("valid.tsv", loaded.HeldOut);

        var log = new StringWriter();
        var request = new TrainRequest
        {
            Corpus = path, Out = dir.File("run"), Steps = 1, Evaluate = false,
            Model = new TransformerConfig { Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
            Options = new TrainingOptions { VocabSize = 100, BatchTokens = 300, Seed = 3 },
        };
        RunTrainer.Run(request, log, interactive: false, CancellationToken.None);
        Assert.Contains("held out 2 of 120 pairs", log.ToString());
        Assert.Contains("seed 3", log.ToString());
        var config = RunFolder.Open(dir.File("run")).Config;
        Assert.Equal((DataOptions.Random, 3, 2), (config.Data!.HeldOut, config.Data.HeldOutSeed, config.Data.HeldOutPairs));
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("run"), "config.json"))))
            Assert.Equal("random", doc.RootElement.GetProperty("data").GetProperty("held_out").GetString());

        log = new StringWriter();
        RunTrainer.Run(request with { Out = dir.File("run2"), Data = new DataOptions { Valid = valid } }, log, interactive: false, CancellationToken.None);
        config = RunFolder.Open(dir.File("run2")).Config;
        Assert.Equal((DataOptions.ValidFile, Path.GetFullPath(valid)), (config.Data!.HeldOut, config.Data.Valid));
        Assert.Contains("held-out set: all 3 pairs", log.ToString());
    }
}
