using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using Xunit;
using Xunit.Abstractions;

namespace AttnScope.Tests.Core;

/// <summary>
/// The core running decoder families against golden outputs of independent reference implementations written with
/// PyTorch's own modules (tests/AttnScope.Tests/Golden/make_decoder_goldens.py, Debian's python3-torch) on small
/// random-weight models saved in Hugging Face's layout. Independent: the reference shares no code with the core,
/// it reads the same files the way Hugging Face's implementations define them.
/// </summary>
public class DecoderGoldenTests(ITestOutputHelper output)
{
    public static readonly TheoryData<string> Models = new() { "tiny-gpt2", "tiny-llama", "tiny-llama3-rope", "tiny-qwen2", "tiny-mistral" };

    internal static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    internal static TransformerModel Load(string name)
    {
        var dir = Folder(name);
        return ModelFamilies.LoadDecoder(Path.Combine(dir, "config.json"), SafetensorsWeights.Load(Path.Combine(dir, "model.safetensors")));
    }

    internal static (int[] Prompt, int[] Generated, SafeTensorsFile Golden) Golden(string name)
    {
        var dir = Folder(name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "golden.json")));
        int[] Ids(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return (Ids("input_ids"), Ids("generated_ids"), SafeTensorsFile.Open(Path.Combine(dir, "golden.safetensors")));
    }

    private static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float worst = 0;
        for (int i = 0; i < a.Length; i++) worst = MathF.Max(worst, MathF.Abs(a[i] - b[i]));
        return worst;
    }

    private static void Near(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> got, float tol, ITestOutputHelper output)
    {
        float d = MaxDiff(expected, got);
        output.WriteLine($"{what}: max |Δ| {d:E2}");
        Assert.True(d <= tol, $"{what}: max |Δ| {d} > {tol}");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ForwardMatchesPyTorchReference(string name)
    {
        var model = Load(name);
        var (prompt, _, g) = Golden(name);
        var s = model.Spec;
        int T = prompt.Length, H = s.Heads, dh = s.HeadDim, group = s.Heads / s.KvHeads;
        var hooks = new HookSet().Record("blocks.*.hook_resid_post", HookPoints.Embed);
        var r = model.Forward(new ForwardInput { Ids = prompt, CaptureQkv = true, Logits = LogitRows.All, Hooks = hooks });
        for (int l = 0; l < s.Layers; l++)
        {
            int len = H * T * T;
            Near($"attention.{l}", g.ReadFloat($"attention.{l}").Data, r.Attention!.Data.AsSpan(l * len, len), 1e-5f, output);
            Near($"q.{l}", g.ReadFloat($"q.{l}").Data, r.Query!.Data.AsSpan(l * H * T * dh, H * T * dh), 1e-4f, output);
            var k = g.ReadFloat($"k.{l}").Data;
            var v = g.ReadFloat($"v.{l}").Data;
            for (int h = 0; h < H; h++)
            {
                // The capture repeats each key/value head for the query heads of its group.
                Near($"k.{l} head {h}", k.AsSpan((h / group) * T * dh, T * dh), r.Key!.Data.AsSpan((l * H + h) * T * dh, T * dh), 1e-4f, output);
                Near($"v.{l} head {h}", v.AsSpan((h / group) * T * dh, T * dh), r.Value!.Data.AsSpan((l * H + h) * T * dh, T * dh), 1e-4f, output);
            }
            Near($"resid_post.{l}", g.ReadFloat($"resid_post.{l}").Data, hooks.Recorded[HookPoints.ResidPost(l)].Data, 1e-4f, output);
        }
        Near("embed (resid_pre.0)", g.ReadFloat("embed").Data, Embedded(model, prompt), 1e-5f, output);
        Near("final_norm", g.ReadFloat("final_norm").Data, r.Hidden.Data, 1e-4f, output);
        Near("logits", g.ReadFloat("logits").Data, r.Logits!.Data, 1e-4f, output);
    }

    /// <summary>The residual stream entering block 0 (token plus position embeddings where the family adds them).</summary>
    private static float[] Embedded(TransformerModel model, int[] ids)
    {
        var hooks = new HookSet().Record(HookPoints.ResidPre(0));
        model.Forward(new ForwardInput { Ids = ids, Hooks = hooks, SkipAttention = true });
        return hooks.Recorded[HookPoints.ResidPre(0)].Data;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void GreedyGenerationMatchesReference(string name)
    {
        var model = Load(name);
        var (prompt, generated, g) = Golden(name);
        var result = Generator.Generate(model, prompt, generated.Length, new SamplingOptions { StopAtEos = false });
        Assert.Equal(prompt.Concat(generated).ToArray(), result.Ids);
        Near("gen_logits", g.ReadFloat("gen_logits").Data, result.StepLogits.Data, 1e-4f, output);
        var s = model.Spec;
        int n = result.Ids.Length;
        var expected = g.ReadFloat("gen_attention.0");
        int en = expected.Shape[1];
        Assert.True(en == n || en == n - 1, $"gen_attention covers {en} tokens; the generation has {n}");
        for (int l = 0; l < s.Layers; l++)
        {
            var e = g.ReadFloat($"gen_attention.{l}").Data;
            for (int h = 0; h < s.Heads; h++)
                for (int i = 0; i < en; i++)
                    Near($"gen_attention.{l} head {h} row {i}", e.AsSpan((h * en + i) * en, en),
                        result.Attention.Data.AsSpan(((l * s.Heads + h) * n + i) * n, en), 1e-5f, NullOutput.Instance);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CachedGenerationEqualsFullRecomputation(string name)
    {
        var model = Load(name);
        var (prompt, _, _) = Golden(name);
        var result = Generator.Generate(model, prompt, 8, new SamplingOptions { Temperature = 1f, Seed = 3, StopAtEos = false }, captureQkv: true);
        var full = model.Forward(new ForwardInput { Ids = result.Ids, CaptureQkv = true, Logits = LogitRows.All });
        Near("attention", full.Attention!.Data, result.Attention.Data, 1e-6f, output);
        Near("scores", full.Scores!.Data, result.Scores!.Data, 1e-5f, output);
        Near("queries", full.Query!.Data, result.Query!.Data, 1e-5f, output);
        Near("keys", full.Key!.Data, result.Key!.Data, 1e-5f, output);
        int v = model.Spec.Vocab, P = prompt.Length;
        // Step t's logits are the full pass's logits at position P − 1 + t.
        for (int t = 0; t < result.NewTokens; t++)
            Near($"step {t} logits", full.Logits!.Data.AsSpan((P - 1 + t) * v, v), result.StepLogits.Data.AsSpan(t * v, v), 1e-4f, NullOutput.Instance);
    }

    private sealed class NullOutput : ITestOutputHelper
    {
        public static readonly NullOutput Instance = new();
        public void WriteLine(string message) { }
        public void WriteLine(string format, params object[] args) { }
    }
}
