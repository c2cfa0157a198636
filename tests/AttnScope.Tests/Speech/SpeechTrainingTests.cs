using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Speech;
using AttnScope.Sources.Audio;
using AttnScope.Training.Speech;
using Xunit;

namespace AttnScope.Tests.Speech;

/// <summary>The tiny Whisper of <c>train-whisper</c>: it learns on a tiny generated set, its gradients against central
/// differences, the choice of alignment heads on synthetic cross attention, the composed clips' word times, and the
/// command (a saved folder that loads with its alignment heads; clear errors).</summary>
public class SpeechTrainingTests
{
    private static readonly TinyWhisperShape Small = new() { Hidden = 32, FeedForward = 64, Layers = 2, Heads = 2, SourcePositions = 64, TargetPositions = 12 };

    private static List<EncodedClip> Clips(TinyWhisperTrainer t, WordPool pool, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => t.Encode(pool.Compose("train", rng, Small.WindowSeconds - 0.05, 2, 3))).ToList();
    }

    [Fact]
    public void ComposedClipsPlaceEveryWordWhereItsSamplesAre()
    {
        var pool = WordPool.Synthetic(4, 5, 3);
        var rng = new Random(5);
        for (int i = 0; i < 20; i++)
        {
            var c = pool.Compose("train", rng, 1.2, 2, 4);
            Assert.InRange(c.Seconds, 0.1, 1.2);
            Assert.InRange(c.Words.Count, 1, 4);
            double prevEnd = 0;
            foreach (var w in c.Words)
            {
                Assert.True(w.Start >= prevEnd && w.End > w.Start);
                int a = (int)Math.Round(w.Start * LogMel.SampleRate), b = (int)Math.Round(w.End * LogMel.SampleRate);
                // silence right before and after each word, sound inside it
                if (a > 0) Assert.Equal(0f, c.Samples[a - 1]);
                if (b < c.Samples.Length) Assert.Equal(0f, c.Samples[b]);
                Assert.True(c.Samples.AsSpan(a, b - a).ToArray().Max(Math.Abs) > 0.05f);
                prevEnd = w.End;
            }
        }
    }

    [Fact]
    public void TrainingAFewStepsLowersTheLossOnATinyGeneratedSet()
    {
        var pool = WordPool.Synthetic(4, 5, 1);
        var t = new TinyWhisperTrainer(pool.Vocabulary, Small, 7);
        var batch = Clips(t, pool, 8, 11);
        double before = t.Gradients(batch).Loss;
        for (int s = 0; s < 40; s++) t.Step(batch, 3e-3);
        double after = t.Gradients(batch).Loss;
        Assert.True(after < 0.6 * before, $"loss {before:F3} → {after:F3}");
    }

    [Theory]
    [InlineData("decoder.blocks.1.cross_attn.W_Q")]
    [InlineData("decoder.blocks.0.cross_attn.W_K")]
    [InlineData("encoder.blocks.0.attn.W_Q")]
    [InlineData("decoder.embed.W_E")]
    public void GradientOfAParameterMatchesCentralDifferences(string name)
    {
        var pool = WordPool.Synthetic(3, 4, 2);
        var t = new TinyWhisperTrainer(pool.Vocabulary, Small, 3);
        var batch = Clips(t, pool, 3, 5);
        // a few steps first, so the attention is not at its uniform start
        for (int s = 0; s < 3; s++) t.Step(batch, 2e-3);
        t.Gradients(batch);
        var (_, value, grad) = t.Parameters.Single(p => p.Name == name);
        var g = (float[])grad.Clone();
        var idx = Enumerable.Range(0, g.Length).OrderByDescending(i => Math.Abs(g[i])).Take(3).ToArray();
        foreach (int i in idx)
        {
            const float h = 1e-2f;
            float keep = value[i];
            value[i] = keep + h; t.Model.Encoder.Repack(); t.Model.Decoder.Repack();
            double up = t.Gradients(batch).Loss;
            value[i] = keep - h; t.Model.Encoder.Repack(); t.Model.Decoder.Repack();
            double down = t.Gradients(batch).Loss;
            value[i] = keep; t.Model.Encoder.Repack(); t.Model.Decoder.Repack();
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - g[i]) <= 2e-3 + 0.05 * Math.Abs(numeric), $"{name}[{i}]: backward {g[i]:G5}, central difference {numeric:G5}");
        }
        Assert.True(Math.Abs(g[idx[0]]) > 1e-4, "the gradient checked is not zero");
    }

    /// <summary>Synthetic cross attention with head (1, 2) planted (AlignmentEvaluationTests.Planted, without frame energies).</summary>
    private static AlignmentSample Planted(Random rng, (int L, int H) planted) => AlignmentEvaluationTests.Planted(rng, planted, (3, 10), (2, 8), energy: false);

    [Fact]
    public void HeadSelectionPicksThePlantedHead()
    {
        var rng = new Random(4);
        var samples = Enumerable.Range(0, 12).Select(_ => Planted(rng, (1, 2))).ToList();
        var sel = AlignmentHeadSelection.Select(samples, 4);
        Assert.Equal((1, 2), sel.Ranking[0].Head);
        Assert.Equal((1, 2), sel.Heads[0]);
        Assert.Equal(6, sel.Ranking.Count);
        var test = Enumerable.Range(0, 12).Select(_ => Planted(rng, (1, 2))).ToList();
        var planted = AlignmentHeadSelection.Measure(test, [(1, 2)]);
        var other = AlignmentHeadSelection.Measure(test, [(0, 0)]);
        // DTW's path starts at frame 0, so the first word's start takes in the leading silence (as in Whisper's raw
        // timing).
        // A pause between words (40–160 ms here) may go to either neighbour, so a boundary is off by up to a pause.
        Assert.True(planted.StartMedian <= 80 && planted.EndMedian <= 40, planted.ToString());
        Assert.True(other.Mean > 3 * planted.Mean, $"{other} vs {planted}");
        // the uniform baseline spreads the words over the true span exactly
        var u = AlignmentHeadSelection.Uniform([(0.5, 0.7), (0.9, 1.5)]);
        Assert.Equal((0.5, 1.0), u[0]);
        Assert.Equal((1.0, 1.5), u[1]);
    }

    private static string WritePool(string dir)
    {
        var pool = WordPool.Synthetic(3, 4, 9);
        Directory.CreateDirectory(dir);
        var words = new JsonArray();
        int i = 0;
        foreach (var r in pool.Recordings)
        {
            var file = $"{i++:D4}.wav";
            WavReader.WritePcm16(Path.Combine(dir, file), r.Samples, LogMel.SampleRate);
            words.Add(new JsonObject { ["word"] = r.Word, ["file"] = file, ["split"] = r.Split });
        }
        File.WriteAllText(Path.Combine(dir, "pool.json"), new JsonObject { ["format"] = WordPool.Format, ["sample_rate"] = 16000, ["words"] = words }.ToJsonString());
        return dir;
    }

    [Fact]
    public void CommandSavesAWhisperFolderWithItsAlignmentHeadsAndFailsClearlyOnBadInput()
    {
        using var tmp = new Support.TempDir();
        var pool = WritePool(Path.Combine(tmp.Path, "pool"));
        var dir = Path.Combine(tmp.Path, "model");
        string[] small = ["--d-model", "32", "--ffn", "64", "--heads", "2", "--source-positions", "64", "--clips", "4", "--valid", "3", "--test", "3", "--batch", "2"];
        var (code, text, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", dir, "--steps", "2", .. small]);
        Assert.True(code == 0, err);
        Assert.Contains("uniform over the true speech span", text);
        Assert.Contains("DTW + heuristics (heads chosen with heuristics)", text);
        Assert.Contains("control: even over detected speech", text);
        Assert.Contains("test clips with pink 10 dB noise", text);
        var model = WhisperModel.Load(dir);
        var gen = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "generation_config.json")))!["alignment_heads"]!.AsArray();
        Assert.NotNull(model.AlignmentHeads);
        Assert.Equal(gen.Select(p => (p![0]!.GetValue<int>(), p[1]!.GetValue<int>())), model.AlignmentHeads!);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "alignment_results.json")))!;
        Assert.True(results["test_rows"]!["uniform over the true speech span"]!["words"]!.GetValue<int>() >= 3); // 3 test clips of at least one word
        Assert.NotNull(results["test_noise"]!["white 20 dB"]!["rows"]!["DTW + heuristics (heads chosen on raw DTW)"]);
        // --init continues from the folder: with --steps 0 the saved weights are the same, and it only evaluates
        var again = Path.Combine(tmp.Path, "again");
        (code, text, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", again, "--init", dir, "--steps", "0", "--noise", "", .. small]);
        Assert.True(code == 0, err);
        Assert.Contains("trained 0 steps", text);
        using (var a = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
        using (var b = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(again, "model.safetensors")))
        {
            Assert.Equal(a.Entries.Keys.Order(), b.Entries.Keys.Order());
            foreach (var k in a.Entries.Keys) Assert.Equal(a.ReadFloat(k).Data, b.ReadFloat(k).Data);
        }
        // and with steps it changes them
        var more = Path.Combine(tmp.Path, "more");
        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", more, "--init", dir, "--steps", "2", "--noise", "", .. small]);
        Assert.True(code == 0, err);
        using (var a = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
        using (var b = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(Path.Combine(more, "model.safetensors")))
            Assert.NotEqual(a.ReadFloat("model.decoder.layers.1.encoder_attn.q_proj.weight").Data, b.ReadFloat("model.decoder.layers.1.encoder_attn.q_proj.weight").Data);
        // the saved folder transcribes a saved test clip through capture --audio
        var cap = Path.Combine(tmp.Path, "cap.safetensors");
        (code, _, err) = Cli.CliTests.Run("capture", "--model", dir, "--audio", Path.Combine(dir, "test0.wav"), "-o", cap);
        Assert.True(code == 0, err);

        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", Path.Combine(tmp.Path, "missing"), "-o", dir, .. small]);
        Cli.CliTests.AssertOneLineError(code, err, "does not exist");
        File.WriteAllText(Path.Combine(pool, "pool.json"), "{\"format\": \"something else\"}");
        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", dir, .. small]);
        Cli.CliTests.AssertOneLineError(code, err, "is not a word pool");
        File.WriteAllText(Path.Combine(pool, "pool.json"), "{\"format\": \"attnscope.word-pool/1\", \"words\": [{\"word\": \"a\", \"file\": \"../x.wav\", \"split\": \"train\"}]}");
        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", dir, .. small]);
        Cli.CliTests.AssertOneLineError(code, err, "outside the pool folder");
        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", dir, "--batch", "0"]);
        Cli.CliTests.AssertOneLineError(code, err, "--batch 0");
        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", dir, "--noise", "brown:10"]);
        Cli.CliTests.AssertOneLineError(code, err, "brown:10");
        (code, _, err) = Cli.CliTests.Run(["train-whisper", "--pool", pool, "-o", dir, "--steps", "0"]);
        Cli.CliTests.AssertOneLineError(code, err, "0 only with --init");
    }
}
