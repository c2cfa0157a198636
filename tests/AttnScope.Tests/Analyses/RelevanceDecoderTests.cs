using AttnScope.Analyses.Relevance;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Transformer;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Core;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Gradient relevance of decoder language models (the golden tiny Llama and GPT-2): ∂ log p/∂P against central
/// finite differences of the forward pass with edited probabilities, the causal shape of the result, refusals, and
/// the command line.
/// </summary>
public class RelevanceDecoderTests
{
    private static double LogProb(TransformerModel model, int[] ids, int t, HookSet? hooks)
    {
        var r = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All, Hooks = hooks, SkipAttention = hooks is null });
        int v = model.Spec.Vocab;
        var row = r.Logits!.Data.AsSpan((t - 1) * v, v);
        double max = double.NegativeInfinity, z = 0;
        foreach (var x in row) max = Math.Max(max, x);
        foreach (var x in row) z += Math.Exp(x - max);
        return row[ids[t]] - max - Math.Log(z);
    }

    [Theory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void ProbabilityGradientsMatchFiniteDifferences(string name)
    {
        var model = DecoderGoldenTests.Load(name);
        var (ids, _, _) = DecoderGoldenTests.Golden(name);
        int n = ids.Length, t = n - 1, v = model.Spec.Vocab, H = model.Spec.Heads;
        var pass = model.Forward(new ForwardInput { Ids = ids, Logits = LogitRows.All, Record = true });
        var row = pass.Logits!.Data.AsSpan((t - 1) * v, v).ToArray();
        double max = row.Max(), z = row.Sum(x => Math.Exp(x - max));
        var d = new float[n * v];
        for (int k = 0; k < v; k++) d[(t - 1) * v + k] = (float)(-Math.Exp(row[k] - max) / z);
        d[(t - 1) * v + ids[t]] += 1f;
        var dP = model.BackwardFromLogits(pass.Tape!, d, null, probabilityGradients: true)!;
        var random = new Random(3);
        double largest = 0;
        for (int l = 0; l < model.Spec.Layers; l++)
            for (int h = 0; h < H; h++)
            {
                var dir = new float[n * n];
                for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) dir[i * n + j] = (float)(random.NextDouble() * 2 - 1); // causal entries only
                double analytic = 0;
                for (int i = 0; i < n * n; i++) analytic += dP[l][h * n * n + i] * dir[i];
                const float eps = 2e-3f;
                double Shifted(float sign)
                {
                    int layer = l, head = h;
                    var hooks = new HookSet().Edit(HookPoints.Pattern(layer), (p, _) =>
                    {
                        for (int i = 0; i < n * n; i++) p[head * n * n + i] += sign * eps * dir[i];
                    });
                    return LogProb(model, ids, t, hooks);
                }
                double numeric = (Shifted(1) - Shifted(-1)) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic) <= 2e-3 * Math.Abs(analytic) + 5e-4, $"layer {l} head {h}: analytic {analytic}, numeric {numeric}");
                largest = Math.Max(largest, Math.Abs(analytic));
            }
        Assert.True(largest > 1e-2, "all derivatives ~0: the check would prove nothing");
    }

    [Fact]
    public void RelevanceIsCausalAndExplainsTheChosenToken()
    {
        var folder = DecoderGoldenTests.Folder("tiny-llama");
        var session = DecoderSession.Open(folder);
        var (cap, _, _) = session.Generate("The cat sat on it", 4, new SamplingOptions { StopAtEos = false });
        int n = cap.Tokens.Count, t = n - 2;
        var r = new DecoderRelevance(session).Explain(cap, t);
        Assert.Equal(t, (int)r.Info["target_index"]!);
        Assert.Equal(cap.Tokens[t].Id, (int)r.Info["target_id"]!);
        Assert.Equal(LogProb(session.Model, cap.Tokens.Select(k => k.Id).ToArray(), t, null), (double)r.Info["log_prob"]!, 5);
        for (int j = t; j < n; j++) Assert.Equal(0f, r.Source.Data[j]);
        Assert.Contains(r.Source.Data.Take(t), v => v > 0);
        var rel = r.Relevance[AttentionStack.Decoder];
        for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) Assert.Equal(0f, rel.Data[i * n + j]);

        Assert.Contains("out of range", Assert.Throws<AttnScopeException>(() => new DecoderRelevance(session).Explain(cap, 0)).Message);
        var other = DecoderSession.Open(DecoderGoldenTests.Folder("tiny-mistral"));
        Assert.Contains("differs", Assert.Throws<AttnScopeException>(() => new DecoderRelevance(other).Explain(cap)).Message);
    }

    [Fact]
    public void AnalyzeExplainsADecoderCaptureFromTheCommandLine()
    {
        using var dir = new TempDir();
        var path = dir.File("gen.safetensors");
        var folder = DecoderGoldenTests.Folder("tiny-gpt2");
        var (code, _, err) = CliTests.Run("generate", "--model", folder, "--prompt", "the cat sat on the mat", "--max-new", "5", "-o", path);
        Assert.True(code == 0, err);
        string output;
        (code, output, err) = CliTests.Run("analyze", path, "--relevance", "--target", "4");
        Assert.True(code == 0, err);
        Assert.Contains("relevance for log p(", output);
        var back = SaliencyResult.From(AttentionCapture.Load(path))!;
        Assert.Equal(4, (int)back.Info["target_index"]!);
        (code, _, err) = CliTests.Run("analyze", path, "--relevance", "--compare", "x");
        CliTests.AssertOneLineError(code, err, "--compare is for embedding models");
        var png = dir.File("sal.png");
        (code, _, err) = CliTests.Run("render", path, "--view", "saliency", "-o", png);
        Assert.True(code == 0, err);
    }
}
