using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Onnx;
using AttnScope.Tests.Onnx;
using AttnScope.Tests.Support;
using AttnScope.Tests.Web;
using Xunit.Abstractions;

namespace AttnScope.Tests.Fuzz;

/// <summary>
/// Bounded fuzzing of the binary readers: captures, model weights (safetensors) and ONNX models. Each mutated
/// file is read or refused with one line; the reader allocates at most 24 bytes per input byte plus 4 MB (it holds
/// the file, its float data and the parsed header, never an amount a declared size asks for).
/// </summary>
[Trait("Category", "Fuzz")]
public class BinaryReaderFuzzTests(ITestOutputHelper log)
{
    /// <summary>Allocation limit of the binary readers, per input: 24 × its length + 4 MB.</summary>
    public static long BinaryLimit(int length) => 24L * length + (4L << 20);

    public static IReadOnlyList<byte[]> CaptureSeeds() =>
    [
        SyntheticCaptures.Encoder(2, 2, 4, qkv: true).ToBytes(),
        AnalysisCaptures.Encoder(n: 5, layers: 2, heads: 2, peak: 2).ToBytes(),
        DecodingStepCaptures.Translation().ToBytes(),
        SyntheticCaptures.Realistic(6, layers: 1, heads: 2, pair: true).ToBytes(),
    ];

    [Fact]
    public void CaptureReader()
    {
        var run = new FuzzRun { Name = "capture reader", Seed = 1301, Seeds = CaptureSeeds(), Text = true, AllocationLimit = BinaryLimit, Budget = TimeSpan.FromSeconds(6) };
        var outcome = run.Execute(bytes =>
        {
            var cap = AttentionCapture.FromBytes(bytes, "fuzz.safetensors");
            // What every view asks of a capture it was given.
            foreach (var s in cap.Stacks.Values) _ = cap.AxisTokens(s.Name);
        }, log);
        Assert.True(outcome.Accepted > 0 && outcome.Refused > 0, outcome.ToString());
    }

    [Fact]
    public void WeightsReader()
    {
        var weights = TinyBert.Weights(3).Take(6).ToList();
        byte[] f32 = SafeTensorsFile.Serialize(weights, new Dictionary<string, string> { ["format"] = "pt" });
        // The same tensors declared as F16 and BF16 (half the bytes), as Hugging Face files often are.
        byte[] Retype(string dtype)
        {
            var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
            var data = new List<byte>();
            foreach (var (name, t) in weights)
            {
                long begin = data.Count;
                foreach (var v in t.Data)
                {
                    var b = dtype == "F16" ? BitConverter.GetBytes((Half)v) : BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(v) >> 16));
                    data.AddRange(b);
                }
                header[name] = new Dictionary<string, object> { ["dtype"] = dtype, ["shape"] = t.Shape, ["data_offsets"] = new[] { begin, data.Count } };
            }
            return RawFiles.SafeTensors(header, [.. data]);
        }
        var run = new FuzzRun { Name = "weights reader", Seed = 1302, Seeds = [f32, Retype("F16"), Retype("BF16")], Text = true, AllocationLimit = BinaryLimit, Budget = TimeSpan.FromSeconds(3) };
        run.Execute(bytes =>
        {
            var file = SafeTensorsFile.Parse(bytes, "model.safetensors");
            foreach (var e in file.Entries.Values)
                if (e.DType is "F32" or "F16" or "BF16" or "F64") file.ReadFloat(e.Name);
        }, log);
    }

    [Fact]
    public void OnnxReader()
    {
        byte[][] seeds =
        [
            TinyOnnxInputsTests.Build(OnnxDataType.Int64, mask: true, types: true, positions: true),
            TinyOnnxInputsTests.Build(OnnxDataType.Int32, mask: false, types: false, positions: false),
        ];
        var run = new FuzzRun { Name = "ONNX reader", Seed = 1303, Seeds = seeds, AllocationLimit = BinaryLimit, Budget = TimeSpan.FromSeconds(6) };
        var outcome = run.Execute(bytes =>
        {
            var model = OnnxModel.Parse(bytes, "fuzz.onnx");
            // Each step that reads the graph before ONNX Runtime sees it; a refusal of one does not stop the next.
            IReadOnlyList<OnnxAttentionLayer>? layers = null;
            Stage(() => layers = OnnxAttentionGraph.Find(model));
            Stage(() => OnnxBertWeights.InferConfig(model));
            Stage(() => OnnxBertWeights.Recover(model));
            Stage(() => OnnxAttentionSource.ElemTypes(model.Graph));
            if (layers is not null)
                Stage(() => OnnxModelEditor.AddOutputs(model, layers.Select(l => (l.Probabilities, OnnxDataType.Float))));
            foreach (var t in model.Graph.Initializers) Stage(() => t.ToFloatArray());
        }, log);
        Assert.True(outcome.Accepted > 0, outcome.ToString());
    }

    [Fact]
    public void SentencePieceModelReader()
    {
        // T5's spiece.model (no BOS piece: the file is patched before loading) through the whole tokenizer: mutated models
        // load and encode, or are refused with one line.
        var spiece = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-t5", "spiece.model"));
        var run = new FuzzRun { Name = "SentencePiece reader", Seed = 1304, Seeds = [spiece], AllocationLimit = BinaryLimit, Budget = TimeSpan.FromSeconds(6) };
        var outcome = run.Execute(bytes =>
        {
            var tok = AttnScope.Sources.Tokenization.T5Tokenizer.FromBytes(bytes, 64, null, "spiece.model");
            var ids = tok.EncodeSource("translate English to German: the cat <extra_id_0> sat").Ids;
            Assert.Equal(tok.EosId, ids[^1]);
            _ = tok.Decode(ids);
        }, log);
        Assert.True(outcome.Accepted > 0 && outcome.Refused > 0, outcome.ToString());
    }

    /// <summary>Runs one reading step; a refusal (one line) is an accepted outcome here, anything else propagates.</summary>
    private static void Stage(Action step)
    {
        try { step(); }
        catch (AttnScopeException) { }
    }
}
