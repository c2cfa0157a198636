using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Tests.Support;

namespace AttnScope.Tests.Capture;

public class CaptureFileTests
{
    [Fact]
    public void SaveAndLoadRoundTripKeepsEveryTensorTokenAndMetadata()
    {
        using var dir = new TempDir();
        var src = SyntheticCaptures.Encoder(3, 4, 7, seed: 5, qkv: true);
        var tgt = SyntheticCaptures.Tokens(5);
        var enc = src.Stacks["encoder"];
        var cross = new AttentionStack(AttentionStack.Cross, SyntheticCaptures.RandomAttention(3, 4, 5, 9, keys: 7)) { Query = SyntheticCaptures.Random([3, 4, 5, 2], 1), Key = SyntheticCaptures.Random([3, 4, 7, 2], 2) };
        var dec = new AttentionStack(AttentionStack.Decoder, SyntheticCaptures.RandomAttention(3, 4, 5, 8));
        var meta = new CaptureMetadata
        {
            ModelId = "m", Architecture = "encoder-decoder", Source = "onnx", Texts = ["a \"quoted\" text", "second"],
            Warnings = ["w1"], Extra = new Dictionary<string, string> { ["note"] = "kept" },
        };
        var cap = new AttentionCapture(meta, src.Tokens, [enc, dec, cross], tgt);
        var path = dir.File("c.safetensors");
        cap.Save(path);

        var back = AttentionCapture.Load(path);
        Assert.Equal(meta.ModelId, back.Metadata.ModelId);
        Assert.Equal(meta.Architecture, back.Metadata.Architecture);
        Assert.Equal(meta.Source, back.Metadata.Source);
        Assert.Equal(meta.Texts, back.Metadata.Texts);
        Assert.Equal(meta.Warnings, back.Metadata.Warnings);
        Assert.Equal("kept", back.Metadata.Extra["note"]);
        Assert.Equal(cap.Tokens, back.Tokens);
        Assert.Equal(cap.TargetTokens, back.TargetTokens);
        Assert.Equal(new[] { "cross", "decoder", "encoder" }, back.Stacks.Keys.Order());
        foreach (var s in cap.Stacks.Values)
            foreach (var part in new[] { "attention" }.Concat(AttentionStack.OptionalParts))
            {
                var a = s.Part(part);
                var b = back.Stacks[s.Name].Part(part);
                Assert.Equal(a is null, b is null);
                if (a is null) continue;
                Assert.Equal(a.Shape, b!.Shape);
                Assert.Equal(a.Data, b.Data);
            }
    }

    /// <summary>
    /// Reads a saved capture with a minimal hand-written parser of the safetensors layout (8-byte little-endian
    /// header size, JSON header, raw little-endian float32 data) that shares no code with AttnScope's reader,
    /// the way a Python user with numpy alone would read it.
    /// </summary>
    [Fact]
    public void CaptureIsReadableByAnIndependentMinimalParser()
    {
        using var dir = new TempDir();
        var cap = SyntheticCaptures.Encoder(2, 3, 5, seed: 11);
        var path = dir.File("c.safetensors");
        cap.Save(path);

        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n));
        var meta = header.RootElement.GetProperty("__metadata__");
        Assert.Equal("attnscope.capture/1", meta.GetProperty("format").GetString());
        var tokens = JsonDocument.Parse(meta.GetProperty("tokens").GetString()!).RootElement;
        Assert.Equal(5, tokens.GetArrayLength());
        Assert.Equal("[CLS]", tokens[0].GetProperty("text").GetString());

        var entry = header.RootElement.GetProperty("encoder.attention");
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        Assert.Equal(new[] { 2, 3, 5, 5 }, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var begin = entry.GetProperty("data_offsets")[0].GetInt64();
        var end = entry.GetProperty("data_offsets")[1].GetInt64();
        Assert.Equal(2 * 3 * 5 * 5 * 4, end - begin);
        Assert.Equal(0, (8 + n) % 8); // data section aligned for zero-copy numpy views
        var expected = cap.Stacks["encoder"].Attention.Data;
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], BitConverter.ToSingle(bytes, (int)(8 + n + begin + i * 4)));
    }

    private static byte[] Valid() => SyntheticCaptures.Encoder(1, 2, 4).ToBytes();

    private static byte[] WithHeader(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    private const string Meta = "\"__metadata__\":{\"format\":\"attnscope.capture/1\",\"tokens\":\"[{\\\"text\\\":\\\"a\\\"},{\\\"text\\\":\\\"b\\\"}]\"}";

    public static TheoryData<string, byte[], string> BadFiles()
    {
        var valid = Valid();
        var truncated = valid[..5];
        var hugeHeader = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(hugeHeader, ulong.MaxValue / 2);
        var pastEnd = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(pastEnd, (ulong)valid.Length);
        var cutData = valid[..^10];
        return new TheoryData<string, byte[], string>
        {
            { "truncated", truncated, "shorter than the 8-byte header" },
            { "huge header", hugeHeader, "exceeds" },
            { "header past end", pastEnd, "runs past the end" },
            { "data cut short", cutData, "run past the end of the data" },
            { "not json", WithHeader("{not json", 0), "not valid JSON" },
            { "offsets past end", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]}}", 8), "run past the end" },
            { "wrong byte count", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,16]}}", 16), "does not match" },
            { "wrong dtype", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"I32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]}}", 16), "expected F32" },
            { "unknown dtype", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"Q7\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]}}", 16), "unknown dtype" },
            { "wrong rank", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16), "4 dimensions" },
            { "overlap", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]},\"encoder.scores\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[8,24]}}", 24), "overlaps" },
            { "overflowing shape", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647,4],\"data_offsets\":[0,16]}}", 16), "does not match" },
            { "negative dim", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[1,-1,2,2],\"data_offsets\":[0,16]}}", 16), "invalid dimension" },
            { "no format", WithHeader("{\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]}}", 16), "no 'format'" },
            { "no tensors", WithHeader("{" + Meta + "}", 0), "no attention tensor" },
            { "token count mismatch", WithHeader("{" + Meta + ",\"encoder.attention\":{\"dtype\":\"F32\",\"shape\":[1,1,3,3],\"data_offsets\":[0,36]}}", 36), "2 query and 2 key tokens" },
            { "unexpected tensor", WithHeader("{" + Meta + ",\"weights\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]}}", 16), "unexpected tensor" },
            { "missing attention", WithHeader("{" + Meta + ",\"encoder.query\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]}}", 16), "without 'encoder.attention'" },
        };
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void MalformedFilesGiveAClearError(string why, byte[] bytes, string expected)
    {
        var e = Assert.Throws<AttnScopeException>(() => AttentionCapture.FromBytes(bytes, why));
        Assert.Contains(expected, e.Message);
        Assert.Contains(why, e.Message); // names the file
    }

    [Fact]
    public void NonProbabilityValuesAreRejected()
    {
        var cap = SyntheticCaptures.Encoder(1, 1, 3);
        var bytes = cap.ToBytes();
        // Overwrite the first float of the data section with NaN.
        long n = BitConverter.ToInt64(bytes, 0);
        BitConverter.GetBytes(float.NaN).CopyTo(bytes, (int)(8 + n));
        var e = Assert.Throws<AttnScopeException>(() => AttentionCapture.FromBytes(bytes));
        Assert.Contains("not a probability", e.Message);
    }

    /// <summary>
    /// The check runs eight values at a time with a scalar tail: a bad value is found wherever it sits (first lane,
    /// last lane of a vector, the tail) and whatever it is (NaN, infinities, negative, over 1.0001), in a file read
    /// from disk through the bulk-read path (a tensor over 1 MiB) as well as from bytes.
    /// </summary>
    [Theory]
    [InlineData(0, float.NaN)]
    [InlineData(7, float.PositiveInfinity)]
    [InlineData(8, -0.25f)]
    [InlineData(12345, 1.01f)]
    [InlineData(-1, float.NegativeInfinity)] // the last value, in the scalar tail (the count is not a multiple of 8)
    [InlineData(-3, float.NaN)]
    public void ABadValueAnywhereIsRejected(int index, float bad)
    {
        var cap = SyntheticCaptures.Encoder(2, 3, 299); // 536,406 values, 2.1 MB
        var bytes = cap.ToBytes();
        long n = BitConverter.ToInt64(bytes, 0);
        long count = 2L * 3 * 299 * 299;
        long at = index >= 0 ? index : count + index;
        BitConverter.GetBytes(bad).CopyTo(bytes, (int)(8 + n + at * 4));
        Assert.Contains("not a probability", Assert.Throws<AttnScopeException>(() => AttentionCapture.FromBytes(bytes)).Message);
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "bad.safetensors");
        File.WriteAllBytes(path, bytes);
        Assert.Contains("not a probability", Assert.Throws<AttnScopeException>(() => AttentionCapture.Load(path)).Message);
        // 1.0001 itself and exact zeros are still probabilities
        BitConverter.GetBytes(1.0001f).CopyTo(bytes, (int)(8 + n + at * 4));
        Assert.Equal(1.0001f, AttentionCapture.FromBytes(bytes).Stacks[AttentionStack.Encoder].Attention.Data[at]);
    }

    /// <summary>A large tensor loaded from disk (read through the file handle into an array that is not zeroed
    /// first) holds exactly the saved values; the file can be deleted once loaded.</summary>
    [Fact]
    public void ALargeCaptureLoadsBackBitForBit()
    {
        var cap = SyntheticCaptures.Encoder(3, 4, 257, seed: 5, qkv: true);
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "big.safetensors");
        cap.Save(path);
        Assert.True(new FileInfo(path).Length > 3_000_000);
        var back = AttentionCapture.Load(path);
        File.Delete(path);
        var a = cap.Stacks[AttentionStack.Encoder];
        var b = back.Stacks[AttentionStack.Encoder];
        Assert.Equal(a.Attention.Shape, b.Attention.Shape);
        Assert.True(a.Attention.Data.AsSpan().SequenceEqual(b.Attention.Data));
        Assert.True(a.Query!.Data.AsSpan().SequenceEqual(b.Query!.Data));
        Assert.True(a.Value!.Data.AsSpan().SequenceEqual(b.Value!.Data));
    }

    /// <summary>
    /// Reading a large stack checks it and finds each head's smallest and largest value block by block, on several
    /// threads: the ranges must equal a plain scan of each head of the saved values, and where several heads hold bad
    /// values the error must name the first in file order, as a sequential check would.
    /// </summary>
    [Fact]
    internal void Head_ranges_found_while_reading_equal_a_plain_scan_and_the_first_bad_value_is_named()
    {
        var cap = SyntheticCaptures.Encoder(3, 5, 211, seed: 9); // 15 heads of 44,521 values, 2.7 MB
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "ranges.safetensors");
        cap.Save(path);
        var loadedCapture = AttentionCapture.Load(path);
        var loaded = loadedCapture.Stacks[AttentionStack.Encoder].Attention;
        Assert.NotNull(loaded.SliceRanges);
        int size = 211 * 211;
        for (int head = 0; head < 15; head++)
        {
            float min = float.MaxValue, max = float.MinValue;
            for (int i = head * size; i < (head + 1) * size; i++) { min = Math.Min(min, loaded.Data[i]); max = Math.Max(max, loaded.Data[i]); }
            Assert.Equal((min, max), loaded.SliceRanges![head]);
        }
        // a view's colour range comes from these ranges; it must be what scanning the values gives
        var inMemory = cap.Stacks[AttentionStack.Encoder].Attention;
        Assert.Null(inMemory.SliceRanges);
        for (int layer = 0; layer < 3; layer++)
        {
            var fromRanges = AttnScope.Views.Static.HeatmapMatrix.From(loadedCapture, AttentionStack.Encoder, layer, AttnScope.Views.Static.HeadSelection.Single(4));
            var scanned = AttnScope.Views.Static.HeatmapMatrix.From(cap, AttentionStack.Encoder, layer, AttnScope.Views.Static.HeadSelection.Single(4));
            Assert.Equal((scanned.MinValue, scanned.MaxValue), (fromRanges.MinValue, fromRanges.MaxValue));
        }

        var bytes = cap.ToBytes();
        long n = BitConverter.ToInt64(bytes, 0);
        BitConverter.GetBytes(7.5f).CopyTo(bytes, (int)(8 + n + (13L * size + 5) * 4));   // head 13 (read last)
        BitConverter.GetBytes(-2.5f).CopyTo(bytes, (int)(8 + n + (2L * size + 100) * 4)); // head 2: first in the file
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<AttnScopeException>(() => AttentionCapture.Load(path));
        Assert.Contains("holds -2.5, not a probability", e.Message);
    }

    /// <summary>A file cut short after it was opened (another program rewriting it) gives a clear error when a large
    /// tensor is read, not a crash or a tensor with stale bytes.</summary>
    [Fact]
    internal void AFileCutShortWhileOpenGivesAClearError()
    {
        var cap = SyntheticCaptures.Encoder(2, 3, 299);
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "cut.safetensors");
        cap.Save(path);
        using var file = AttnScope.Capture.SafeTensors.SafeTensorsFile.Open(path);
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            f.SetLength(f.Length / 2);
        var e = Assert.Throws<AttnScopeException>(() => file.ReadFloat("encoder.attention"));
        Assert.Contains("was it changed meanwhile?", e.Message);
    }

    [Theory]
    [InlineData("{\"a\": 1}")]
    [InlineData("[\"x\", null]")]
    [InlineData("[\"x\", 3]")]
    [InlineData("[\"x\"")]
    public void TextsThatAreNotAListOfStringsAreRejected(string texts)
    {
        var cap = SyntheticCaptures.Encoder(1, 1, 3);
        var bytes = cap.ToBytes();
        long n = BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n))!.AsObject();
        header["__metadata__"]!["texts"] = texts;
        var h = Encoding.UTF8.GetBytes(header.ToJsonString());
        var patched = new byte[8 + h.Length + bytes.Length - 8 - n];
        BinaryPrimitives.WriteInt64LittleEndian(patched, h.Length);
        h.CopyTo(patched, 8);
        bytes.AsSpan((int)(8 + n)).CopyTo(patched.AsSpan(8 + h.Length));
        Assert.Contains("metadata 'texts' is not a JSON list of strings", Assert.Throws<AttnScopeException>(() => AttentionCapture.FromBytes(patched)).Message);
        header["__metadata__"]!["texts"] = "[\"first\", \"second\"]";
        h = Encoding.UTF8.GetBytes(header.ToJsonString());
        patched = new byte[8 + h.Length + bytes.Length - 8 - n];
        BinaryPrimitives.WriteInt64LittleEndian(patched, h.Length);
        h.CopyTo(patched, 8);
        bytes.AsSpan((int)(8 + n)).CopyTo(patched.AsSpan(8 + h.Length));
        Assert.Equal(["first", "second"], AttentionCapture.FromBytes(patched).Metadata.Texts);
    }

    [Fact]
    public void SavingIntoAMissingFolderFailsClearlyAndWritesNothing()
    {
        using var dir = new TempDir();
        var cap = SyntheticCaptures.Encoder(1, 1, 3);
        var e = Assert.Throws<AttnScopeException>(() => cap.Save(Path.Combine(dir.Path, "nope", "c.safetensors")));
        Assert.Contains("does not exist", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileIntact()
    {
        using var dir = new TempDir();
        var path = dir.File("out.bin");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AttnScope.Capture.Io.AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path)); // no temp file left behind
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<AttnScopeException>(() => AttentionCapture.Load("/nonexistent/x.safetensors"));
        Assert.Contains("not found", e.Message);
    }
}
