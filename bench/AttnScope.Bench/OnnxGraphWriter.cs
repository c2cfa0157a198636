using System.Runtime.InteropServices;
using AttnScope.Capture;
using AttnScope.Sources.Onnx;

namespace AttnScope.Bench;

/// <summary>
/// Builds an ONNX model (ModelProto) node by node and writes it to a file, streaming the float32 initializers
/// instead of assembling the whole message in memory (a 124M-parameter model is 500 MB of weights). Only what the
/// decoder benchmark's graphs need: default-domain nodes with int, float, ints and tensor attributes, float and
/// int64 initializers, and float/int64 graph inputs and outputs with symbolic dimensions.
/// </summary>
public sealed class OnnxGraphWriter
{
    private const int FloatType = 1, Int64Type = 7;
    private readonly List<byte[]> _nodes = [];
    private readonly List<(string Name, long[] Dims, int Type, float[]? Floats, long[]? Longs)> _initializers = [];
    private readonly List<byte[]> _inputs = [], _outputs = [];
    private int _counter;

    /// <summary>Default-domain opset the graph is written for.</summary>
    public int Opset { get; init; } = 20;

    /// <summary>A fresh value name with a readable prefix.</summary>
    public string Fresh(string prefix) => $"{prefix}_{_counter++}";

    /// <summary>Adds a node with one output (named fresh from the op type) and returns the output's name.</summary>
    public string Op(string opType, params string[] inputs) => OpWith(opType, inputs, null);

    /// <summary>Adds a node with attributes (int, float, long[] or float[] values) and one fresh output.</summary>
    public string OpWith(string opType, string[] inputs, IReadOnlyDictionary<string, object>? attributes, string? output = null)
    {
        output ??= Fresh(opType.ToLowerInvariant());
        Node(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Adds a node with the given outputs.</summary>
    public void Node(string opType, string[] inputs, string[] outputs, IReadOnlyDictionary<string, object>? attributes = null)
    {
        var w = new ProtoWriter();
        foreach (var i in inputs) w.String(1, i);
        foreach (var o in outputs) w.String(2, o);
        w.String(3, outputs[0] + "_node");
        w.String(4, opType);
        if (attributes is not null)
            foreach (var (name, value) in attributes)
                w.Message(5, a =>
                {
                    a.String(1, name);
                    switch (value)
                    {
                        case int i: a.Int64(3, i).Int64(20, 2); break;
                        case long l: a.Int64(3, l).Int64(20, 2); break;
                        case float f: a.Float(2, f).Int64(20, 1); break;
                        case string s: a.String(4, s).Int64(20, 3); break;
                        case long[] ints: foreach (var x in ints) a.Int64(8, x); a.Int64(20, 7); break;
                        default: throw new AttnScopeException($"attribute '{name}' has an unsupported type {value.GetType().Name}");
                    }
                });
        _nodes.Add(w.ToArray());
    }

    /// <summary>A float32 initializer (the array is written when the model is saved, not copied).</summary>
    public string Weight(string name, float[] data, params long[] dims)
    {
        if (dims.Aggregate(1L, (a, b) => a * b) != data.Length)
            throw new AttnScopeException($"initializer '{name}' has {data.Length} values for shape [{string.Join(", ", dims)}]");
        _initializers.Add((name, dims, FloatType, data, null));
        return name;
    }

    /// <summary>A float32 scalar constant.</summary>
    public string Scalar(float value) => Weight(Fresh("const"), [value]);

    /// <summary>An int64 constant (a scalar when <paramref name="scalar"/>, else 1-D).</summary>
    public string Longs(long[] values, bool scalar = false)
    {
        string name = Fresh("ints");
        _initializers.Add((name, scalar ? [] : [values.Length], Int64Type, null, values));
        return name;
    }

    /// <summary>A graph input; a dimension is a number or a symbolic name.</summary>
    public string Input(string name, bool int64, params object[] dims)
    {
        _inputs.Add(ValueInfo(name, int64 ? Int64Type : FloatType, dims));
        return name;
    }

    /// <summary>Declares an existing value as a graph output.</summary>
    public void Output(string name, bool int64, params object[] dims) => _outputs.Add(ValueInfo(name, int64 ? Int64Type : FloatType, dims));

    private static byte[] ValueInfo(string name, int elemType, object[] dims) => new ProtoWriter()
        .String(1, name)
        .Message(2, t => t.Message(1, tt => tt.Int64(1, elemType).Message(2, shape =>
        {
            foreach (var d in dims)
                shape.Message(1, dim =>
                {
                    if (d is string s) dim.String(2, s);
                    else dim.Int64(1, Convert.ToInt64(d));
                });
        })))
        .ToArray();

    /// <summary>Writes the model: graph fields, then each initializer with its raw data streamed from the array.</summary>
    public void Save(string path, string graphName)
    {
        var head = new ProtoWriter();
        head.String(2, graphName);
        var tail = new ProtoWriter();
        foreach (var i in _inputs) tail.Bytes(11, i);
        foreach (var o in _outputs) tail.Bytes(12, o);

        // Each initializer: field 5 of the graph, holding dims, data_type, name and raw_data (field 9) last.
        var initHeads = new List<(byte[] Head, long RawBytes)>();
        long graphLength = 0;
        foreach (var n in _nodes) graphLength += FieldLength(n.Length);
        graphLength += head.ToArray().Length + tail.ToArray().Length;
        foreach (var (name, dims, type, floats, longs) in _initializers)
        {
            var h = new ProtoWriter();
            foreach (var d in dims) h.Int64(1, d);
            h.Int64(2, type);
            h.String(8, name);
            long raw = floats is not null ? floats.LongLength * 4 : longs!.LongLength * 8;
            h.Tag(9, WireType.LengthDelimited).Varint((ulong)raw);
            var hb = h.ToArray();
            initHeads.Add((hb, raw));
            graphLength += FieldLength(hb.Length + raw);
        }

        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var model = new ProtoWriter();
        model.Int64(1, 9);                                           // ir_version 9 (opset 20)
        model.String(2, "AttnScope.Bench");
        model.Message(8, o => o.String(1, "").Int64(2, Opset));
        model.Tag(7, WireType.LengthDelimited).Varint((ulong)graphLength);
        f.Write(model.ToArray());
        foreach (var n in _nodes) f.Write(new ProtoWriter().Bytes(1, n).ToArray());
        f.Write(head.ToArray());
        for (int i = 0; i < _initializers.Count; i++)
        {
            var (hb, raw) = initHeads[i];
            f.Write(new ProtoWriter().Tag(5, WireType.LengthDelimited).Varint((ulong)(hb.Length + raw)).ToArray());
            f.Write(hb);
            var init = _initializers[i];
            if (init.Floats is not null) f.Write(MemoryMarshal.AsBytes(init.Floats.AsSpan()));
            else f.Write(MemoryMarshal.AsBytes(init.Longs!.AsSpan()));
        }
        f.Write(tail.ToArray());
    }

    /// <summary>Bytes of a length-delimited field with a one-byte tag and a payload of <paramref name="payload"/> bytes.</summary>
    private static long FieldLength(long payload)
    {
        long varint = 1;
        for (ulong v = (ulong)payload; v >= 0x80; v >>= 7) varint++;
        return 1 + varint + payload;
    }
}
