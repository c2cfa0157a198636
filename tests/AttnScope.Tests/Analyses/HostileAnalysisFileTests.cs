using System.Text;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Cli.CliTests;

namespace AttnScope.Tests.Analyses;

/// <summary>
/// Capture files whose analyses were edited by hand or made by another tool: every reader refuses what does not fit
/// with one line that names the problem (exit 1), never an internal error, and renders what does fit.
/// </summary>
public class HostileAnalysisFileTests
{
    /// <summary>Rewrites the metadata entry <paramref name="key"/> of a saved capture's safetensors header, keeping the tensors.</summary>
    internal static void SetMetadata(string path, string key, string value)
    {
        var bytes = File.ReadAllBytes(path);
        int n = (int)BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, n))!.AsObject();
        header["__metadata__"]![key] = value;
        var h = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - h.Length % 8) % 8;
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((long)(h.Length + pad)));
        f.Write(h);
        for (int i = 0; i < pad; i++) f.WriteByte((byte)' ');
        f.Write(bytes, 8 + n, bytes.Length - 8 - n);
    }

    private static void AssertUserError((int Code, string Out, string Err) r, string expected)
    {
        Assert.True(r.Code == 1, $"exit {r.Code}: {r.Out} {r.Err}");
        Assert.DoesNotContain("internal error", r.Err);
        Assert.Contains(expected, r.Err);
    }

    [Theory]
    [InlineData("{\"encoder.rollout\":{\"fusion\":\"max\"},\"encoder.rollout\":{\"fusion\":\"min\"}}")]
    [InlineData("{\"encoder.rollout\":{\"fusion\":\"max\",\"fusion\":\"min\"}}")]
    [InlineData("{\"encoder.head_stats\":{\"roles\":[[\"a\",\"b\"]],\"roles\":[]}}")]
    public void Analysis_info_with_a_key_given_twice_is_refused_at_load(string info)
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        AnalysisCaptures.Encoder().Save(path);
        SetMetadata(path, CaptureAnalysis.MetadataKey, info);
        Assert.Contains("not a JSON object of objects", Assert.Throws<AttnScopeException>(() => AttentionCapture.Load(path)).Message);
        AssertUserError(Run("render", path, "--view", "rollout", "-o", dir.File("r.png")), "is not a valid AttnScope capture");
        Assert.False(File.Exists(dir.File("r.png")));
    }

    [Fact]
    public void A_token_with_a_key_given_twice_is_refused_at_load()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        SyntheticCaptures.Encoder(1, 1, 2).Save(path);
        SetMetadata(path, "tokens", "[{\"text\":\"a\",\"text\":\"b\"},{\"text\":\"c\"}]");
        AssertUserError(Run("inspect", path), "not a valid token list");
    }

    [Theory]
    [InlineData("encoder.flow")]
    [InlineData("encoder.flow_raw")]
    public void Flow_with_extra_dimensions_is_refused_by_its_reader_and_the_view(string name)
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        var cap = SyntheticCaptures.Encoder(2, 3, 5);
        var flow = new CaptureAnalysis("encoder.flow", new FloatTensor(name == "encoder.flow" ? [2, 5, 5] : [5, 5]));
        var raw = new CaptureAnalysis("encoder.flow_raw", new FloatTensor(name == "encoder.flow_raw" ? [1, 5, 5] : [5, 5]));
        cap = cap.WithAnalyses([flow, raw]);
        Assert.Contains($"analysis '{name}'", Assert.Throws<AttnScopeException>(() => FlowResult.From(cap, "encoder")).Message);
        cap.Save(path);
        AssertUserError(Run("render", path, "--view", "flow", "-o", dir.File("f.png")), "expected 2 dimensions");
        AssertUserError(Run("html", path, "-o", dir.File("p.html")), "expected 2 dimensions");
        Assert.Equal(["c.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("encoder.rollout", new[] { 5 })]
    [InlineData("encoder.rollout", new[] { 5, 5 })]
    [InlineData("encoder.flow", new[] { 5 })]
    public void Viewer_sections_of_analyses_that_do_not_fit_are_refused_not_crashed(string name, int[] shape)
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        var cap = SyntheticCaptures.Encoder(2, 3, 5).WithAnalyses([new CaptureAnalysis(name, new FloatTensor(shape))]);
        var data = new AttnScope.Web.Data.ViewerData(cap, "t");
        var kind = name.Split('.')[1];
        Assert.Contains($"analysis '{name}'", Assert.Throws<AttnScopeException>(() => data.Section($"an/{kind}/encoder")).Message);
        cap.Save(path);
        AssertUserError(Run("html", path, "-o", dir.File("p.html")), $"analysis '{name}'");
        Assert.False(File.Exists(dir.File("p.html")));
    }

    [Theory]
    [InlineData("saliency-bars", ".png")]
    [InlineData("saliency-bars", ".svg")]
    [InlineData("saliency", ".png")]
    public void A_very_long_compare_text_is_cut_in_the_header_and_the_saliency_views_render(string view, string ext)
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        var compare = string.Concat(Enumerable.Repeat("<b>long</b> ", 2000));
        var cap = SyntheticCaptures.Encoder(2, 3, 6);
        AnalysisCaptures.With(cap, AnalysisCaptures.CosineSaliency(cap, 2, compare: compare)).Save(path);
        var header = AttnScope.Views.Analyses.SaliencyText.Target(SaliencyResult.From(AttentionCapture.Load(path))!.Info);
        Assert.Contains("“<b>long</b> <b>long</b>", header);
        Assert.Contains("…” = 0.8125", header);
        Assert.True(header.Length < 250, header);
        var (code, output, err) = Run("render", path, "--view", view, "-o", dir.File("s" + ext));
        Assert.True(code == 0, output + err);
        Assert.True(new FileInfo(dir.File("s" + ext)).Length > 0);
    }

    [Theory]
    [InlineData("encoder.rollout", "start_layer", 1e12, "info 'start_layer' is 1000000000000, expected a whole number from 0 to 1")]
    [InlineData("encoder.rollout", "start_layer", -1, "expected a whole number from 0 to 1")]
    [InlineData("encoder.rollout", "start_layer", 0.5, "expected a whole number from 0 to 1")]
    [InlineData("encoder.rollout", "start_layer", 2, "expected a whole number from 0 to 1")]
    [InlineData("encoder.flow", "output_layer", -7, "info 'output_layer' is -7, expected a whole number from 0 to 3")]
    [InlineData("encoder.flow", "output_layer", 4, "expected a whole number from 0 to 3")]
    public void Layer_numbers_in_the_info_outside_the_stack_are_refused(string name, string key, double value, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        var cap = SyntheticCaptures.Encoder(3, 2, 5);
        int[] shape = name == "encoder.rollout" ? [2, 5, 5] : [5, 5];
        cap.WithAnalyses([new CaptureAnalysis(name, new FloatTensor(shape), new JsonObject { [key] = value })]).Save(path);
        var view = name.Split('.')[1];
        AssertUserError(Run("render", path, "--view", view, "-o", dir.File("v.png")), expected);
        Assert.False(File.Exists(dir.File("v.png")));
    }

    [Fact]
    public void A_rollout_with_more_steps_than_the_stack_has_layers_is_refused()
    {
        var cap = SyntheticCaptures.Encoder(2, 2, 5).WithAnalyses([new CaptureAnalysis("encoder.rollout", new FloatTensor([3, 5, 5]))]);
        Assert.Contains("has 3 steps but encoder has 2 layers", Assert.Throws<AttnScopeException>(() => RolloutResult.From(cap, "encoder")).Message);
    }
}
