using System.Text.Json;
using AttnScope.Capture.SafeTensors;
using AttnScope.Training.FineTuning;
using AttnScope.Training.Model;
using AttnScope.Training.Optim;
using Xunit.Abstractions;

namespace AttnScope.Tests.Training;

/// <summary>
/// Marian fine-tuning's loss, gradients and one AdamW step on tiny-marian against PyTorch autograd and
/// torch.optim.AdamW (tests/AttnScope.Tests/Golden/make_marian_loss_golden.py): the core's forward and backward
/// passes through Hugging Face's Marian, the shared embedding collecting the encoder, decoder and head gradients.
/// </summary>
public class MarianLossGoldenTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-marian");

    private static (Seq2SeqTrainable Model, Batch Batch, JsonElement Golden) Setup()
    {
        var g = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "loss_golden.json"))).RootElement;
        var model = Seq2SeqTrainable.Load(Folder, (float)g.GetProperty("label_smoothing").GetDouble());
        var pairs = g.GetProperty("pairs").EnumerateArray().Select(p => new EncodedPair(
            p.GetProperty("source_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            p.GetProperty("target_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray())).ToList();
        return (model, Batch.Of(pairs, model.DecoderStartId, model.EosId), g);
    }

    private void Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, double relative, double absolute)
    {
        Assert.Equal(expected.Length, got.Length);
        double worst = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++) { worst = Math.Max(worst, Math.Abs(expected[i] - got[i])); scale = Math.Max(scale, Math.Abs(expected[i])); }
        output.WriteLine($"{what}: max |Δ| {worst:E2} (max |x| {scale:E2})");
        Assert.True(worst <= absolute + relative * scale, $"{what}: max |Δ| {worst} > {absolute} + {relative}·{scale}");
    }

    [Fact]
    public void Loss_and_gradients_match_torch_autograd()
    {
        var (model, batch, g) = Setup();
        Assert.Equal(g.GetProperty("trainable_tensors").GetInt32(), model.Parameters.Count);
        model.ZeroGrad();
        var loss = model.Forward(batch, dropout: 0f, seed: 1);
        Assert.Equal(g.GetProperty("tokens").GetInt32(), loss.Tokens);
        double want = g.GetProperty("loss").GetDouble(), nll = g.GetProperty("nll").GetDouble();
        output.WriteLine($"loss {loss.MeanLoss:R} vs {want:R}; nll {loss.MeanNll:R} vs {nll:R}");
        Assert.True(Math.Abs(loss.MeanLoss - want) <= 1e-5 * Math.Abs(want), $"loss {loss.MeanLoss} vs {want}");
        Assert.True(Math.Abs(loss.MeanNll - nll) <= 1e-5 * Math.Abs(nll), $"nll {loss.MeanNll} vs {nll}");
        model.Backward(1f / loss.Tokens);
        using var file = SafeTensorsFile.Open(Path.Combine(Folder, "loss_golden.safetensors"));
        foreach (var norm in g.GetProperty("grad_norms").EnumerateObject())
        {
            var p = model[norm.Name];
            Near("grad " + norm.Name, file.ReadFloat("grad." + norm.Name).Data, p.Grad, 5e-5, 1e-6); // float32 through four layers: measured ≤ 1.4e-5 of the largest entry
            double n = Math.Sqrt(p.Grad.Sum(x => (double)x * x));
            Assert.True(Math.Abs(n - norm.Value.GetDouble()) <= 1e-5 * norm.Value.GetDouble(), $"{norm.Name}: norm {n} vs {norm.Value.GetDouble()}");
        }
        double global = Math.Sqrt(model.Parameters.Sum(p => p.Grad.Sum(x => (double)x * x)));
        double wantGlobal = g.GetProperty("grad_norm").GetDouble();
        output.WriteLine($"global gradient norm {global:R} vs {wantGlobal:R}");
        Assert.True(Math.Abs(global - wantGlobal) <= 1e-5 * wantGlobal, $"global norm {global} vs {wantGlobal}");
    }

    [Fact]
    public void One_AdamW_step_matches_torch_optim()
    {
        var (model, batch, g) = Setup();
        var a = g.GetProperty("adamw");
        var opt = new AdamW(model.Parameters)
        {
            Beta1 = a.GetProperty("beta1").GetDouble(), Beta2 = a.GetProperty("beta2").GetDouble(),
            Epsilon = a.GetProperty("eps").GetDouble(), WeightDecay = a.GetProperty("weight_decay").GetDouble(),
        };
        var before = model[Seq2SeqTrainable.Shared].Value.ToArray();
        model.ZeroGrad();
        var loss = model.Forward(batch, 0f, 1);
        model.Backward(1f / loss.Tokens);
        opt.Step(a.GetProperty("lr").GetDouble());
        using var file = SafeTensorsFile.Open(Path.Combine(Folder, "loss_golden.safetensors"));
        foreach (var norm in g.GetProperty("grad_norms").EnumerateObject())
            Near("after AdamW " + norm.Name, file.ReadFloat("adamw." + norm.Name).Data, model[norm.Name].Value, 0, 1e-6);
        Assert.NotEqual(before, model[Seq2SeqTrainable.Shared].Value); // the step changed the weights the core reads
        var again = model.Forward(batch, 0f, 1);
        Assert.True(again.MeanLoss < loss.MeanLoss, $"one step down the gradient: {again.MeanLoss} < {loss.MeanLoss}");
    }
}
