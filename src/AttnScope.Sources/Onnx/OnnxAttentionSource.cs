using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttnScope.Sources.Onnx;

/// <summary>
/// Runs any unfused ONNX Transformer encoder with ONNX Runtime and captures the attention probabilities of every
/// layer: the attention Softmax outputs are exposed as extra graph outputs. Optionally captures the scaled
/// pre-softmax scores and per-head Q/K/V where the graph shows them.
/// </summary>
internal sealed class OnnxAttentionSource : IDisposable
{
    private readonly InferenceSession _session;
    private readonly List<(string Name, InputRole Role, OnnxDataType Type)> _inputs = [];
    private readonly string _hiddenOutput;
    private readonly bool _scoresAvailable;
    private readonly bool _qkvAvailable;

    private enum InputRole { Ids, Mask, TypeIds, Positions }

    /// <summary>The parsed model (without the added outputs).</summary>
    public OnnxModel Model { get; }
    /// <summary>The attention layers found, in layer order.</summary>
    public IReadOnlyList<OnnxAttentionLayer> Layers { get; }
    public int LayerCount => Layers.Count;
    /// <summary>Names of the model inputs that are fed.</summary>
    public IReadOnlyList<string> InputNames => _inputs.Select(i => i.Name).ToList();
    /// <summary>The output read as the last hidden state.</summary>
    public string HiddenOutputName => _hiddenOutput;
    /// <summary>True when every layer's scaled pre-softmax scores were located in the graph.</summary>
    public bool CanCaptureScores => _scoresAvailable;
    /// <summary>True when every layer's per-head Q, K and V were located in the graph.</summary>
    public bool CanCaptureQkv => _qkvAvailable;

    public static OnnxAttentionSource Load(string path, OnnxSessionSettings? settings = null) =>
        new(OnnxModel.Load(path), settings);

    public static OnnxAttentionSource FromBytes(byte[] bytes, OnnxSessionSettings? settings = null, string source = "the ONNX model bytes") =>
        new(OnnxModel.Parse(bytes, source), settings);

    public OnnxAttentionSource(OnnxModel model, OnnxSessionSettings? settings = null)
    {
        Model = model;
        Layers = OnnxAttentionGraph.Find(model);
        foreach (var input in model.Graph.RealInputs)
        {
            var role = RoleOf(input.Name)
                ?? throw new AttnScopeException($"{model.Source}: model input '{input.Name}' is not one AttnScope can fill (input_ids, attention_mask, token_type_ids, position_ids)");
            if (input.ElemType is not (OnnxDataType.Int64 or OnnxDataType.Int32))
                throw new AttnScopeException($"{model.Source}: model input '{input.Name}' has type {OnnxDataTypes.Name(input.ElemType)}; expected INT64 or INT32");
            _inputs.Add((input.Name, role, input.ElemType));
        }
        if (!_inputs.Any(i => i.Role == InputRole.Ids))
            throw new AttnScopeException($"{model.Source}: the model has no input_ids input (inputs: {string.Join(", ", model.Graph.RealInputs.Select(i => i.Name))})");

        var outputs = model.Graph.Outputs;
        var hidden = FindHiddenOutput(model, outputs);
        _hiddenOutput = hidden.Name;
        var floatType = IsFloat(hidden.ElemType) ? hidden.ElemType : OnnxDataType.Float;

        _scoresAvailable = Layers.All(l => l.Scores is not null);
        _qkvAvailable = Layers.All(l => l.Query is not null && l.Key is not null && l.Value is not null);
        var extra = new List<string>();
        foreach (var l in Layers)
        {
            extra.Add(l.Probabilities);
            if (_scoresAvailable) extra.Add(l.Scores!);
            if (_qkvAvailable) { extra.Add(l.Query!); extra.Add(l.Key!); extra.Add(l.Value!); }
        }
        // ONNX Runtime rejects an added output whose declared type differs from the computed one, and mixed-precision
        // graphs (float32 I/O around FLOAT16 attention, or the reverse) are common, so each type is inferred.
        var typeOf = ElemTypes(model.Graph);
        var bytes = OnnxModelEditor.AddOutputs(model, extra.Distinct().Select(n =>
            (n, typeOf.TryGetValue(n, out var t) && IsFloat(t) ? t : floatType)));
        try
        {
            using var options = (settings ?? OnnxSessionSettings.Default).CreateSessionOptions();
            _session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new AttnScopeException($"ONNX Runtime cannot load {model.Source}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The last hidden state: the output named last_hidden_state, else the first 3-D float output, else the only
    /// output with no shape (float or untyped), whose rank is then checked on every run.
    /// </summary>
    private static OnnxValueInfo FindHiddenOutput(OnnxModel model, List<OnnxValueInfo> outputs)
    {
        var hidden = outputs.FirstOrDefault(o => o.Name == "last_hidden_state")
            ?? outputs.FirstOrDefault(o => o.HasShape && o.Rank == 3 && IsFloat(o.ElemType));
        if (hidden is not null) return hidden;
        var shapeless = outputs.Where(o => !o.HasShape && (IsFloat(o.ElemType) || o.ElemType == OnnxDataType.Undefined)).ToList();
        if (shapeless.Count == 1) return shapeless[0];
        var list = string.Join(", ", outputs.Select(o => o.ToString()));
        if (shapeless.Count > 1)
            throw new AttnScopeException($"{model.Source}: no last_hidden_state output, and outputs {string.Join(", ", shapeless.Select(o => $"'{o.Name}'"))} carry no shape, so the 3-D [batch, seq, hidden] output cannot be told apart; name it last_hidden_state or give the outputs shapes (outputs: {list})");
        throw new AttnScopeException($"{model.Source}: no last_hidden_state or 3-D float output (outputs: {list})");
    }

    /// <summary>
    /// Element types of the graph's values: declared ones (value_info, inputs, outputs, initializers) first, else
    /// propagated in topological order (Cast gives its 'to', Constant its tensor's type, shape-like ops INT64,
    /// comparisons BOOL, Where its second input, other ops their first input with a known type).
    /// </summary>
    internal static Dictionary<string, OnnxDataType> ElemTypes(OnnxGraph g)
    {
        var types = new Dictionary<string, OnnxDataType>(StringComparer.Ordinal);
        foreach (var v in g.Inputs.Concat(g.Outputs).Concat(g.ValueInfo))
            if (v.ElemType != OnnxDataType.Undefined) types.TryAdd(v.Name, v.ElemType);
        foreach (var t in g.Initializers) types.TryAdd(t.Name, t.DataType);
        foreach (var node in g.TopologicalOrder())
        {
            OnnxDataType type = OnnxDataType.Undefined;
            if (!node.IsDefaultDomain) { }
            else if (node.Is("Cast") && node.IntAttribute("to") is { } to) type = (OnnxDataType)to;
            else if (node.Is("Constant")) type = node.Attribute("value")?.Tensor?.DataType ?? OnnxDataType.Undefined;
            else if (node.OpType is "Shape" or "Size" or "NonZero" or "ArgMax" or "ArgMin") type = OnnxDataType.Int64;
            else if (node.OpType is "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "Not" or "And" or "Or" or "Xor" or "IsNaN" or "IsInf") type = OnnxDataType.Bool;
            else
            {
                var data = node.Is("Where") ? node.Inputs.Skip(1) : node.Inputs;
                foreach (var i in data)
                    if (i.Length > 0 && types.TryGetValue(i, out var ti)) { type = ti; break; }
            }
            if (type == OnnxDataType.Undefined) continue;
            foreach (var o in node.Outputs)
                if (o.Length > 0) types.TryAdd(o, type);
        }
        return types;
    }

    private static bool IsFloat(OnnxDataType t) => t is OnnxDataType.Float or OnnxDataType.Float16 or OnnxDataType.Double or OnnxDataType.BFloat16;

    private static InputRole? RoleOf(string name)
    {
        var n = name.ToLowerInvariant();
        if (n is "input_ids" or "ids" or "input" || n.EndsWith("input_ids", StringComparison.Ordinal)) return InputRole.Ids;
        if (n.Contains("attention_mask") || n is "mask" or "input_mask") return InputRole.Mask;
        if (n.Contains("token_type") || n is "segment_ids" or "type_ids") return InputRole.TypeIds;
        if (n.Contains("position_ids")) return InputRole.Positions;
        return null;
    }

    /// <summary>Runs a batch (padded to its longest sequence) and returns attention and last hidden state per sequence.</summary>
    public IReadOnlyList<SequenceAttention> Run(IReadOnlyList<EncodedInput> batch) => Run(batch, false, false);

    /// <summary>
    /// Runs a batch; with <paramref name="captureScores"/> also the scaled pre-softmax scores, with
    /// <paramref name="captureQkv"/> the per-head Q/K/V [layers, heads, n, head_dim].
    /// </summary>
    public IReadOnlyList<SequenceAttention> Run(IReadOnlyList<EncodedInput> batch, bool captureScores, bool captureQkv)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) return [];
        if (captureScores && !_scoresAvailable)
            throw new AttnScopeException($"{Model.Source}: the pre-softmax scores could not be located in this ONNX graph; scores need --engine managed");
        if (captureQkv && !_qkvAvailable)
            throw new AttnScopeException($"{Model.Source}: Q/K/V could not be located in this ONNX graph; Q/K/V need --engine managed");
        for (int i = 0; i < batch.Count; i++)
        {
            var e = batch[i];
            if (e.Ids.Length == 0) throw new AttnScopeException($"input {i} has no tokens");
            if (e.TypeIds.Length != e.Ids.Length) throw new AttnScopeException($"input {i} has {e.Ids.Length} token ids but {e.TypeIds.Length} token type ids");
        }
        int b = batch.Count;
        int s = batch.Max(e => e.Length);
        var values = new List<OrtValue>();
        var outputNames = new List<string> { _hiddenOutput };
        foreach (var l in Layers)
        {
            outputNames.Add(l.Probabilities);
            if (captureScores) outputNames.Add(l.Scores!);
            if (captureQkv) { outputNames.Add(l.Query!); outputNames.Add(l.Key!); outputNames.Add(l.Value!); }
        }
        try
        {
            foreach (var (name, role, type) in _inputs)
            {
                var data = new long[b * s];
                for (int i = 0; i < b; i++)
                {
                    var e = batch[i];
                    for (int t = 0; t < s; t++)
                    {
                        bool real = t < e.Length;
                        data[i * s + t] = role switch
                        {
                            InputRole.Ids => real ? e.Ids[t] : 0,
                            InputRole.Mask => real ? 1 : 0,
                            InputRole.TypeIds => real ? e.TypeIds[t] : 0,
                            _ => t,
                        };
                    }
                }
                long[] shape = [b, s];
                values.Add(type == OnnxDataType.Int32
                    ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(data, v => (int)v), shape)
                    : OrtValue.CreateTensorValueFromMemory(data, shape));
            }
            using var runOptions = new RunOptions();
            IDisposableReadOnlyCollection<OrtValue> results;
            try
            {
                results = _session.Run(runOptions, _inputs.Select(i => i.Name).ToList(), values, outputNames);
            }
            catch (OnnxRuntimeException e)
            {
                throw new AttnScopeException($"ONNX Runtime failed to run {Model.Source}: {e.Message}", e);
            }
            using (results)
            {
                var outputs = new Dictionary<string, (long[] Shape, float[] Data)>(StringComparer.Ordinal);
                for (int i = 0; i < outputNames.Count; i++) outputs[outputNames[i]] = Read(results[i], outputNames[i]);
                return Split(batch, s, outputs, captureScores, captureQkv);
            }
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private static (long[] Shape, float[] Data) Read(OrtValue v, string name)
    {
        var info = v.GetTensorTypeAndShape();
        var shape = info.Shape;
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                return (shape, v.GetTensorDataAsSpan<float>().ToArray());
            case TensorElementType.Float16:
            {
                var src = v.GetTensorDataAsSpan<Float16>();
                var dst = new float[src.Length];
                for (int i = 0; i < src.Length; i++) dst[i] = src[i].ToFloat();
                return (shape, dst);
            }
            case TensorElementType.BFloat16:
            {
                var src = v.GetTensorDataAsSpan<BFloat16>();
                var dst = new float[src.Length];
                for (int i = 0; i < src.Length; i++) dst[i] = src[i].ToFloat();
                return (shape, dst);
            }
            case TensorElementType.Double:
            {
                var src = v.GetTensorDataAsSpan<double>();
                var dst = new float[src.Length];
                for (int i = 0; i < src.Length; i++) dst[i] = (float)src[i];
                return (shape, dst);
            }
            default:
                throw new AttnScopeException($"ONNX output '{name}' has element type {info.ElementDataType}; expected a float type");
        }
    }

    private IReadOnlyList<SequenceAttention> Split(IReadOnlyList<EncodedInput> batch, int s, Dictionary<string, (long[] Shape, float[] Data)> outputs, bool scores, bool qkv)
    {
        int b = batch.Count;
        var (hShape, hData) = outputs[_hiddenOutput];
        if (hShape.Length != 3 || hShape[0] != b || hShape[1] != s)
            throw new AttnScopeException($"{Model.Source}: output '{_hiddenOutput}' has shape [{string.Join(", ", hShape)}], expected [{b}, {s}, hidden]");
        int hidden = (int)hShape[2];

        int heads = HeadsOf(outputs[Layers[0].Probabilities], b, s, Layers[0].Probabilities);
        int headDim = 0;
        if (qkv)
        {
            var (qShape, qData) = outputs[Layers[0].Query!];
            headDim = (int)(qData.LongLength / ((long)b * heads * s));
            if (headDim <= 0 || (long)b * heads * s * headDim != qData.LongLength || qShape[^1] != headDim)
                throw new AttnScopeException($"{Model.Source}: Q tensor '{Layers[0].Query}' has shape [{string.Join(", ", qShape)}], not [batch, {heads} heads, {s}, head_dim]");
        }

        var result = new List<SequenceAttention>(b);
        for (int bi = 0; bi < b; bi++)
        {
            int n = batch[bi].Length;
            var last = new FloatTensor([n, hidden]);
            Array.Copy(hData, (long)bi * s * hidden, last.Data, 0, (long)n * hidden);
            var att = new FloatTensor([Layers.Count, heads, n, n]);
            var sc = scores ? new FloatTensor([Layers.Count, heads, n, n]) : null;
            var q = qkv ? new FloatTensor([Layers.Count, heads, n, headDim]) : null;
            var k = qkv ? new FloatTensor([Layers.Count, heads, n, headDim]) : null;
            var v = qkv ? new FloatTensor([Layers.Count, heads, n, headDim]) : null;
            for (int l = 0; l < Layers.Count; l++)
            {
                var layer = Layers[l];
                CopySquare(outputs[layer.Probabilities], layer.Probabilities, att, l, bi, b, heads, s, n);
                if (sc is not null) CopySquare(outputs[layer.Scores!], layer.Scores!, sc, l, bi, b, heads, s, n);
                if (qkv)
                {
                    CopyHeads(outputs[layer.Query!], layer.Query!, q!, l, bi, b, heads, s, n, headDim, transposed: false);
                    CopyHeads(outputs[layer.Key!], layer.Key!, k!, l, bi, b, heads, s, n, headDim, transposed: layer.KeyIsTransposed);
                    CopyHeads(outputs[layer.Value!], layer.Value!, v!, l, bi, b, heads, s, n, headDim, transposed: false);
                }
            }
            result.Add(new SequenceAttention { LastHidden = last, Attention = att, Scores = sc, Query = q, Key = k, Value = v });
        }
        return result;
    }

    private int HeadsOf((long[] Shape, float[] Data) t, int b, int s, string name)
    {
        var (shape, data) = t;
        long perHead = (long)s * s;
        if (shape.Length < 3 || shape[^1] != s || shape[^2] != s || data.LongLength % (perHead * b) != 0)
            throw new AttnScopeException($"{Model.Source}: attention tensor '{name}' has shape [{string.Join(", ", shape)}], expected [{b}, heads, {s}, {s}]");
        return (int)(data.LongLength / (perHead * b));
    }

    private void CopySquare((long[] Shape, float[] Data) t, string name, FloatTensor dst, int l, int bi, int b, int heads, int s, int n)
    {
        if (HeadsOf(t, b, s, name) != heads)
            throw new AttnScopeException($"{Model.Source}: attention tensor '{name}' has shape [{string.Join(", ", t.Shape)}]; other layers have {heads} heads");
        var src = t.Data;
        var d = dst.Data;
        for (int h = 0; h < heads; h++)
        {
            long baseSrc = ((long)bi * heads + h) * s * s;
            int baseDst = dst.Offset(l, h);
            for (int i = 0; i < n; i++)
                Array.Copy(src, baseSrc + (long)i * s, d, baseDst + i * n, n);
        }
    }

    private void CopyHeads((long[] Shape, float[] Data) t, string name, FloatTensor dst, int l, int bi, int b, int heads, int s, int n, int headDim, bool transposed)
    {
        var src = t.Data;
        if (src.LongLength != (long)b * heads * s * headDim)
            throw new AttnScopeException($"{Model.Source}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected {b}×{heads}×{s}×{headDim} values");
        var d = dst.Data;
        for (int h = 0; h < heads; h++)
        {
            long baseSrc = ((long)bi * heads + h) * s * headDim;
            int baseDst = dst.Offset(l, h);
            if (!transposed)
            {
                for (int i = 0; i < n; i++) Array.Copy(src, baseSrc + (long)i * headDim, d, baseDst + i * headDim, headDim);
            }
            else
            {
                // Kᵀ: [head_dim, s] per head.
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < headDim; j++)
                        d[baseDst + i * headDim + j] = src[baseSrc + (long)j * s + i];
            }
        }
    }

    public void Dispose() => _session.Dispose();
}
