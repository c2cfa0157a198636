using System.Text.Json;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Model;
using AttnScope.Training.Optim;
using AttnScope.Training.Text;
using AttnScope.Training.Training;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Training;

/// <summary>
/// Run folders written by the translation model before it moved onto the Transformer core (Golden/translation-runs,
/// made by that model's own code) load as the translation family and compute what that model computed.
/// </summary>
public class TranslationRunCompatibilityTests
{
    private static string Root => Path.Combine(AppContext.BaseDirectory, "Golden", "translation-runs");

    private static JsonElement Expected(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "expected.json"))).RootElement.GetProperty(name);

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();

    private static void Close(float[] expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}[{i}]: pre-core {expected[i]}, core {actual[i]}");
    }

    [Theory]
    [InlineData("pre-shared-sinusoidal")]
    [InlineData("post-separate-learned")]
    public void OldRunFoldersGiveTheOldModelsOutputs(string name)
    {
        var e = Expected(name);
        var folder = Path.Combine(Root, name);
        var translator = Translator.Open(folder);
        var model = translator.Model;
        int[] src = Ints(e.GetProperty("source_ids")), tgt = Ints(e.GetProperty("target_ids"));
        var batch = Batch.Of([new EncodedPair(src, tgt)], SubwordVocabulary.BosId, SubwordVocabulary.EosId);
        var random = new FastRandom(0);
        Close(Floats(e.GetProperty("logits")), model.ForwardLogits(batch, ref random, training: false), 1e-4, "logits");
        Assert.Equal(e.GetProperty("loss").GetDouble(), model.Forward(batch, ref random, training: false).Loss, 3);
        var rec = AttentionRecorder.Record(model, src, tgt);
        Close(Floats(e.GetProperty("encoder_attention")), rec.Encoder.Data, 1e-5, "encoder attention");
        Close(Floats(e.GetProperty("decoder_attention")), rec.Decoder.Data, 1e-5, "decoder attention");
        Close(Floats(e.GetProperty("cross_attention")), rec.Cross.Data, 1e-5, "cross attention");

        var source = Ints(e.GetProperty("greedy_source"));
        var greedy = Search.Greedy(model, source, SubwordVocabulary.BosId, SubwordVocabulary.EosId, 30);
        Assert.Equal(Ints(e.GetProperty("greedy")), greedy.Ids);
        Assert.Equal(e.GetProperty("greedy_log_probability").GetDouble(), greedy.LogProbability, 3);
        Assert.Equal(Ints(e.GetProperty("beam3")), Search.Beam(model, source, SubwordVocabulary.BosId, SubwordVocabulary.EosId, 30, 3).Ids);

        // the run folder as a family of the core: an encoder-decoder whose greedy decoding is the same
        var family = TranslationFamily.Load(folder);
        var ids = family.Greedy(source, 30);
        Assert.Equal(greedy.Ids, greedy.Finished ? ids[..^1] : ids);
        Assert.Equal(TranslationFamily.FamilyName, family.Decoder.Spec.Family);
    }

    [Fact]
    public void AnOldRunResumesWithItsOptimizerState()
    {
        using var dir = new TempDir();
        var name = "post-separate-learned";
        var run = RunFolder.Open(Path.Combine(Root, name));
        var model = new Transformer(run.Config.Model, run.Config.Training.LabelSmoothing);
        var vocab = run.LoadVocabulary();
        var pair = new EncodedPair([.. vocab.Encode("the dog sleeps").Ids, SubwordVocabulary.EosId], vocab.Encode("der Hund schläft").Ids);
        var session = new TrainingSession(model, run.Config.Training, [pair], _ => [[0]]);
        session.LoadCheckpoint(run.LatestCheckpoint());
        Assert.Equal(Expected(name).GetProperty("step").GetInt64(), session.State.Step);
        Assert.True(session.Optimizer.Steps > 0);
        var before = model.Parameters.Select(p => p.Value.ToArray()).ToList();
        var r = session.Step(0);
        Assert.True(double.IsFinite(r.Loss.Loss) && r.Loss.Tokens == pair.Target.Length + 1);
        Assert.Contains(model.Parameters.Select((p, i) => (p, i)), x => !x.p.Value.AsSpan().SequenceEqual(before[x.i]));
        session.SaveCheckpoint(dir.File("again.safetensors"));
        var again = new Transformer(run.Config.Model);
        Checkpoint.Load(dir.File("again.safetensors"), again, new AdamW(again.Parameters));
        for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(model.Parameters[i].Value, again.Parameters[i].Value);
    }
}
