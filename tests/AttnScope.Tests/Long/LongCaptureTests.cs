using AttnScope.Capture;
using AttnScope.Capture.Long;
using AttnScope.Sources;
using AttnScope.Sources.Long;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Long;

/// <summary>
/// Long captures against the float32 capture of the same text by the same model: f16/u8 rows within their
/// documented error bounds, f32 rows exact, pyramid levels equal to block maxima/means computed here directly from
/// the float32 attention, tiles from rows equal to the same block statistics.
/// </summary>
public sealed class LongCaptureFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    internal DecoderSession Session { get; }
    public string Text { get; } = LongModel.Text(900);
    /// <summary>decoder.attention [2, 4, m, m] of the ordinary capture.</summary>
    public FloatTensor Attention { get; }
    public int Tokens => Attention.Shape[2];

    public LongCaptureFixture()
    {
        Session = DecoderSession.Open(LongModel.Write(Dir.Path, 4096));
        Attention = Session.Capture(Text).Stack(AttentionStack.Decoder).Attention;
    }

    internal string Write(string name, LongCaptureOptions options)
    {
        var path = Dir.File(name);
        Session.CaptureLong(Text, options, path);
        return path;
    }

    public void Dispose() => Dir.Dispose();
}

public class LongCaptureTests(LongCaptureFixture f) : IClassFixture<LongCaptureFixture>
{
    private float Full(int l, int h, int q, int k) => f.Attention[l, h, q, k];

    [Fact]
    public void TheTextIsLongerThanTheGoldenModelsPositions()
    {
        Assert.InRange(f.Tokens, 1200, 4096);
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("u8")]
    public void StoredRowsStayWithinTheirErrorBoundOfTheFloat32Capture(string storage)
    {
        var s = AttentionQuantizer.Parse(storage);
        var path = f.Write($"rows-{storage}.safetensors", new LongCaptureOptions { Storage = s, Layers = [1], Heads = [0, 3] });
        using var cap = LongCapture.Open(path);
        Assert.Equal([(1, 0), (1, 3)], cap.Layout.Chosen);
        int m = f.Tokens;
        double worst = 0;
        foreach (var (l, h) in cap.Layout.Chosen)
        {
            var (tile, rows, cols) = cap.Tile(l, h, mean: false, block: 1, 0, 0, m, Math.Min(m, LongCapture.MaxTileCells / m));
            for (int q = 0; q < rows; q++)
                for (int k = 0; k < cols; k++)
                {
                    double p = Full(l, h, q, k), got = tile[q * cols + k];
                    double bound = s switch
                    {
                        AttentionStorage.F32 => 0,
                        AttentionStorage.F16 => p * Math.Pow(2, -11) + Math.Pow(2, -25),
                        _ => 0.5 / 255 * (2 * Math.Sqrt(p) + 0.5 / 255),
                    };
                    Assert.True(Math.Abs(p - got) <= bound * 1.0001, $"{storage} l{l} h{h} q{q} k{k}: {got} vs {p} (bound {bound})");
                    worst = Math.Max(worst, Math.Abs(p - got));
                }
        }
        if (s == AttentionStorage.F32) Assert.Equal(0, worst);
        else Assert.True(worst > 0, "quantized rows identical to float32: nothing was quantized");
        long expectedRows = 2L * m * m * AttentionQuantizer.Size(s);
        Assert.InRange(new FileInfo(path).Length, expectedRows, expectedRows + 1_000_000);
    }

    [Fact]
    public void PyramidLevelsEqualBlockMaximaAndMeansOfTheFloat32Attention()
    {
        var path = f.Write("pyramid.safetensors", new LongCaptureOptions { NoRows = true, Pyramid = true });
        using var cap = LongCapture.Open(path);
        int m = f.Tokens;
        Assert.Empty(cap.Layout.Chosen);
        Assert.Equal(LongCaptureLayout.PyramidBlocks(m), cap.Layout.Blocks);
        Assert.True(cap.Layout.Blocks.Count >= 3);
        foreach (var b in new[] { cap.Layout.Blocks[0], cap.Layout.Blocks[2] })
        {
            int side = (m + b - 1) / b;
            foreach (var (l, h) in new[] { (0, 0), (1, 2) })
            {
                var (mx, rows, cols) = cap.Tile(l, h, mean: false, b, 0, 0, side, side);
                var (mean, _, _) = cap.Tile(l, h, mean: true, b, 0, 0, side, side);
                Assert.Equal((side, side), (rows, cols));
                for (int r = 0; r < side; r++)
                    for (int c = 0; c < side; c++)
                    {
                        double eMax = 0, eSum = 0;
                        int n = 0;
                        for (int q = r * b; q < Math.Min(m, (r + 1) * b); q++)
                            for (int k = c * b; k < Math.Min(m, (c + 1) * b); k++)
                            {
                                double p = Full(l, h, q, k);
                                eMax = Math.Max(eMax, p); eSum += p; n++;
                            }
                        double eMean = eSum / n;
                        Assert.True(Math.Abs(mx[r * side + c] - eMax) <= eMax * 1e-3 + 1e-7, $"b{b} l{l} h{h} max ({r},{c}): {mx[r * side + c]} vs {eMax}");
                        Assert.True(Math.Abs(mean[r * side + c] - eMean) <= eMean * 2e-3 + 1e-7, $"b{b} l{l} h{h} mean ({r},{c}): {mean[r * side + c]} vs {eMean}");
                    }
            }
        }
        Assert.Throws<AttnScopeException>(() => cap.Tile(0, 0, false, 1, 0, 0, 4, 4));
    }

    [Fact]
    public void TilesFromRowsAtFinerBlocksEqualBlockStatisticsOfTheFloat32Attention()
    {
        var path = f.Write("rows-tiles.safetensors", new LongCaptureOptions { Layers = [0], Heads = [2], Pyramid = true });
        using var cap = LongCapture.Open(path);
        int m = f.Tokens, b = 2, r0 = 100, c0 = 37, rows = 30, cols = 60;
        Assert.DoesNotContain(b, cap.Layout.Blocks);
        var (mx, _, _) = cap.Tile(0, 2, false, b, r0, c0, rows, cols);
        var (mean, _, _) = cap.Tile(0, 2, true, b, r0, c0, rows, cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double eMax = 0, eSum = 0;
                for (int q = (r0 + r) * b; q < (r0 + r + 1) * b; q++)
                    for (int k = (c0 + c) * b; k < (c0 + c + 1) * b; k++) { eMax = Math.Max(eMax, Full(0, 2, q, k)); eSum += Full(0, 2, q, k); }
                Assert.Equal(eMax, mx[r * cols + c]);
                Assert.True(Math.Abs(eSum / (b * b) - mean[r * cols + c]) <= 1e-6 * eSum + 1e-9, $"mean ({r},{c}): {mean[r * cols + c]} vs {eSum / (b * b)}");
            }
        // A head without rows has only the pyramid's blocks.
        Assert.Equal(1, cap.FinestBlock(0, 2));
        Assert.Equal(cap.Layout.Blocks[0], cap.FinestBlock(1, 1));
        Assert.Contains("only pyramid levels", Assert.Throws<AttnScopeException>(() => cap.Tile(1, 1, false, b, 0, 0, 2, 2)).Message);
    }
}

/// <summary>Lazy checks: a bad value is found when a tile first touches it, not on open; a bad header is refused on open.</summary>
public class LongCaptureValidationTests(LongCaptureFixture f) : IClassFixture<LongCaptureFixture>
{
    private static long DataStart(string path)
    {
        using var s = File.OpenRead(path);
        var len = new byte[8];
        s.ReadExactly(len);
        return 8 + (long)BitConverter.ToUInt64(len);
    }

    [Fact]
    public void BadValuesAreFoundWhenFirstTouchedAndBadHeadersOnOpen()
    {
        var path = f.Write("hostile.safetensors", new LongCaptureOptions { Storage = AttentionStorage.F16, Layers = [0], Heads = [0], Pyramid = true });
        int m = f.Tokens;
        long rowsAt, levelAt;
        using (var good = LongCapture.Open(path))
        {
            var file = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(path);
            rowsAt = DataStart(path) + file.Entries[good.Layout.RowsName(0, 0)].Begin;
            levelAt = DataStart(path) + file.Entries[good.Layout.PyramidName("max", good.Layout.Blocks[1])].Begin;
            file.Dispose();
        }
        var bytes = File.ReadAllBytes(path);
        // Half NaN at query 10, key 3 of the rows; half 2.0 in the first cell of the second pyramid level.
        BitConverter.GetBytes((ushort)0x7E00).CopyTo(bytes, rowsAt + (10L * m + 3) * 2);
        BitConverter.GetBytes((ushort)0x4000).CopyTo(bytes, levelAt);
        File.WriteAllBytes(path, bytes);
        using (var cap = LongCapture.Open(path))
        {
            Assert.Equal(25, cap.Tile(0, 0, false, 1, 0, 0, 5, 5).Values.Length); // rows 0..4 hold nothing bad
            Assert.Contains("at query 10, key 3, not a probability", Assert.Throws<AttnScopeException>(() => cap.Tile(0, 0, false, 1, 8, 0, 4, 8)).Message);
            Assert.NotNull(cap.Tile(1, 1, false, cap.Layout.Blocks[0], 0, 0, 4, 4).Values);
            Assert.Contains("not a probability", Assert.Throws<AttnScopeException>(() => cap.Tile(1, 1, false, cap.Layout.Blocks[1], 0, 0, 4, 4)).Message);
        }
        // A header whose chosen heads disagree with the tensors is refused on open, in one line.
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        var patched = System.Text.Encoding.Latin1.GetBytes(text.Replace("\"long.chosen\":\"[[0,0]]\"", "\"long.chosen\":\"[[0,1]]\""));
        Assert.NotEqual(bytes, patched);
        File.WriteAllBytes(path, patched);
        var e = Assert.Throws<AttnScopeException>(() => LongCapture.Open(path));
        Assert.Contains("unexpected tensor 'decoder.rows.l0.h0'", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}

/// <summary>Allocation is measured with no other test running (the collection runs alone).</summary>
[Collection("server memory")]
public class LongCaptureMemoryTests
{
    [Fact]
    public void CapturingLongNeverAllocatesTheAttentionStack()
    {
        using var dir = new TempDir();
        var session = DecoderSession.Open(LongModel.Write(dir.Path, 4096));
        var text = LongModel.Text(900);
        var options = new LongCaptureOptions { Storage = AttentionStorage.U8, Layers = [0], Heads = [0] };
        session.CaptureLong(text, options, dir.File("warm.safetensors"));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var layout = session.CaptureLong(text, options, dir.File("alloc.safetensors"));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        long stack = 2L * 4 * layout.Tokens * layout.Tokens * 4;
        Assert.True(allocated < stack / 8, $"{allocated:N0} bytes allocated; the float32 stack is {stack:N0}");
    }
}

/// <summary><c>attnscope capture</c> with the long options and <c>inspect</c> of the file it writes; bad options are one line.</summary>
public class LongCaptureCliTests
{
    [Fact]
    public void CaptureWritesALongCaptureAndInspectDescribesItFromTheHeader()
    {
        using var dir = new TempDir();
        var model = LongModel.Write(dir.Path, 4096);
        File.WriteAllText(dir.File("text.txt"), LongModel.Text(400));
        var path = dir.File("long.safetensors");
        var (code, stdout, err) = AttnScope.Tests.Cli.CliTests.Run("capture", "--model", model, "--text-file", dir.File("text.txt"),
            "--storage", "f16", "--layers", "0,1", "--heads", "3", "--pyramid", "-o", path);
        Assert.True(code == 0, err);
        using (var cap = LongCapture.Open(path))
        {
            Assert.Equal([(0, 3), (1, 3)], cap.Layout.Chosen);
            Assert.Equal(AttentionStorage.F16, cap.Layout.Storage);
            Assert.Equal(LongCaptureLayout.PyramidBlocks(cap.Layout.Tokens), cap.Layout.Blocks);
            Assert.Contains($"{cap.Layout.Tokens} tokens", stdout);
        }
        (code, stdout, err) = AttnScope.Tests.Cli.CliTests.Run("inspect", path);
        Assert.True(code == 0, err);
        Assert.Contains("rows:         l0h3 l1h3 (f16", stdout);
        Assert.Contains("attnscope.long/1", stdout);

        foreach (var (args, words) in new[]
        {
            (new[] { "--storage", "f8" }, "unknown storage 'f8'"),
            (new[] { "--layers", "0,7" }, "layer 7 is out of range"),
            (new[] { "--heads", "x" }, "--heads: 'x' is not an index"),
        })
        {
            (code, _, err) = AttnScope.Tests.Cli.CliTests.Run(["capture", "--model", model, "--text", "the cat sat", .. args, "-o", dir.File("bad.safetensors")]);
            AttnScope.Tests.Cli.CliTests.AssertOneLineError(code, err, words);
        }
    }
}

/// <summary>Long captures go past the 16,384 tokens of ordinary captures: the writer and the lazy reader agree on 20,000.</summary>
public class LongCaptureSizeTests
{
    [Fact]
    public void ALongCaptureOfTwentyThousandTokensOpens()
    {
        using var dir = new TempDir();
        int m = 20_000;
        var tokens = Enumerable.Range(0, m).Select(i => new CaptureToken($"t{i}", i, -1, -1, Segment.A, false)).ToList();
        var layout = new LongCaptureOptions { NoRows = true, Pyramid = true }.Layout(AttentionStack.Decoder, 1, 1, m);
        var meta = new Dictionary<string, string> { ["model"] = "synthetic", ["tokens"] = AttentionCapture.TokensJson(tokens) };
        var path = dir.File("long20k.safetensors");
        using (var w = new LongCaptureWriter(path, layout, meta, causal: true))
        {
            var row = new float[m];
            for (int q = 0; q < m; q++) { Array.Clear(row); row[q / 2] = 1f; w.Rows(0, 0, q, 1, m, row); }
            w.Finish();
        }
        using var cap = LongCapture.Open(path);
        Assert.True(m > CaptureLimits.MaxTokens);
        Assert.Equal(m, cap.Tokens.Count);
        Assert.Equal("t19999", cap.Tokens[^1].Text);
        int b = cap.Layout.Blocks[0], side = LongCaptureLayout.Cells(m, b);
        var (max, _, _) = cap.Tile(0, 0, false, b, 0, 0, side, side);
        // Row q has its one 1 at key q/2: block (r, c) holds one exactly when some q in block r has q/2 in block c.
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++)
            {
                bool hit = Enumerable.Range(r * b, Math.Min(b, m - r * b)).Any(q => q / 2 / b == c);
                Assert.Equal(hit ? 1f : 0f, max[r * side + c]);
            }
        Assert.Contains("more than the 131072", Assert.Throws<AttnScopeException>(() =>
            new LongCaptureOptions { Pyramid = true }.Layout(AttentionStack.Decoder, 1, 1, 200_000)).Message);
    }
}
