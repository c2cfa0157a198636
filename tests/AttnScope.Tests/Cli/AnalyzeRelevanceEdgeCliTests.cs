using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Cli.CliTests;

namespace AttnScope.Tests.Cli;

/// <summary>
/// <c>attnscope analyze --relevance</c> on a real MiniLM capture: refusals are one clear line and leave the capture as
/// it was; a compare text longer than the model takes is cut with a warning that says so.
/// </summary>
[Collection("minilm")]
public class AnalyzeRelevanceEdgeCliTests
{
    [Fact]
    public void Relevance_refusals_are_clear_and_a_cut_compare_text_is_reported()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        var pair = dir.File("p.safetensors");
        var weights = dir.File("weights.bin");
        File.WriteAllText(weights, "not a model");
        Assert.Equal(0, Run("capture", "--text", "The cat sat.", "-o", path).Code);
        Assert.Equal(0, Run("capture", "--text", "Where is it?", "--text-pair", "Over there.", "-o", pair).Code);
        var before = File.ReadAllBytes(path);

        void Refused(string expected, params string[] args)
        {
            var (code, output, err) = Run(args);
            Assert.True(code == 1, $"exit {code}: {output} {err}");
            Assert.Equal($"attnscope: error: {expected}", err.Trim());
        }
        Refused("the text to compare with is empty", "analyze", path, "--relevance", "--compare", " ");
        Refused("relevance for an embedding model needs --compare TEXT (which tokens make the capture's text similar to it?)", "analyze", path, "--relevance");
        Refused("the capture holds a sentence pair (2 texts); the embedding similarity explains one text: capture the text alone", "analyze", pair, "--relevance", "--compare", "x");
        Refused($"'{weights}' is a file but not an .onnx model; give a model folder, an .onnx file, 'minilm' or hf:ORG/NAME", "analyze", path, "--relevance", "--compare", "x", "--model", weights);
        Assert.Equal(before, File.ReadAllBytes(path));

        var (c, _, e) = Run("analyze", path, "--relevance", "--compare", string.Join(" ", Enumerable.Repeat("word", 1000)));
        Assert.True(c == 0, e);
        Assert.StartsWith("attnscope: warning: compare text: ", e);
        Assert.Contains("word", e);
        var info = SaliencyResult.From(AttentionCapture.Load(path))!.Info;
        Assert.StartsWith("compare text: ", (string?)info["warnings"]![0]);
    }
}
