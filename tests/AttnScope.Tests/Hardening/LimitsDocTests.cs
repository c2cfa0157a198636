using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Training.Data;
using AttnScope.Training.Model;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Hardening;

/// <summary>docs/limits.md states the limits the code enforces (each constant's value appears), and README links it.</summary>
public class LimitsDocTests
{
    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AttnScope.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    public static TheoryData<string, long> Limits => new()
    {
        { "capture tokens", CaptureLimits.MaxTokens },
        { "capture layers", CaptureLimits.MaxLayers },
        { "capture heads", CaptureLimits.MaxHeads },
        { "capture layers × heads", CaptureLimits.MaxLayerHeads },
        { "safetensors header", AttnScope.Capture.SafeTensors.SafeTensorsFile.MaxHeaderBytes },
        { "largest file", Array.MaxLength },
        { "hidden_size", BertConfig.MaxHiddenSize },
        { "intermediate_size", BertConfig.MaxIntermediateSize },
        { "vocab_size", BertConfig.MaxVocabSize },
        { "max_position_embeddings", BertConfig.MaxPositionLimit },
        { "type_vocab_size", BertConfig.MaxTypeVocabSize },
        { "text characters", AttnScope.Cli.TextInput.MaxCharacters },
        { "max_length", TransformerConfig.MaxMaxLength },
        { "d_model", TransformerConfig.MaxDim },
        { "d_ff", TransformerConfig.MaxFeedForward },
        { "run layers", TransformerConfig.MaxLayers },
        { "run parameters", TransformerConfig.MaxParameters },
        { "batch_tokens", TrainingOptions.MaxBatchTokens },
        { "builtin pairs", TrainingOptions.MaxBuiltinPairs },
        { "heatmap side", AttnScope.Views.Static.HeatmapLayout.MaxPixels },
        { "svg cells", AttnScope.Views.Static.SvgFigureCanvas.MaxCellRects },
    };

    [Theory]
    [MemberData(nameof(Limits))]
    public void EveryLimitIsDocumented(string what, long value) =>
        Assert.True(File.ReadAllText(Path.Combine(Root(), "docs", "limits.md")).Contains(N(value), StringComparison.Ordinal), $"{what}: {N(value)} is not in docs/limits.md");

    [Fact]
    public void ByteLimitsAreDocumentedInMebibytes()
    {
        var doc = File.ReadAllText(Path.Combine(Root(), "docs", "limits.md"));
        Assert.Contains($"| `vocab.txt` | {WordPieceTextEncoder.MaxVocabFileBytes >> 20} MiB", doc);
        Assert.Contains($"| `tokenizer.json` | {WordPieceTextEncoder.MaxTokenizerFileBytes >> 20} MiB", doc);
        Assert.Contains($"corpus lines | {ParallelCorpusReader.MaxLineBytes >> 20} MiB", doc);
        Assert.Contains($"{AttnScope.Views.Animation.AnimationWriter.MaxTotalPixels >> 20} Mi pixels", doc);
        Assert.Contains($"± {AttnScope.Sources.OutputCheck.RowSumTolerance.ToString(CultureInfo.InvariantCulture)}", doc);
    }

    [Fact]
    public void ReadmeLinksTheLimits() => Assert.Contains("(docs/limits.md)", File.ReadAllText(Path.Combine(Root(), "README.md")));
}
