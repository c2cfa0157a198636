using AttnScope.Sources.Onnx;

namespace AttnScope.Tests.Onnx;

/// <summary>Builds small ONNX ModelProto bytes for tests.</summary>
internal static class TinyOnnx
{
    public sealed record Node(string OpType, string[] Inputs, string[] Outputs, string Domain = "", string Name = "", Action<ProtoWriter>? Attributes = null);

    public static byte[] Model(IEnumerable<Node> nodes, IEnumerable<(string Name, long[] Dims, float[] Values)>? initializers = null,
        IEnumerable<(string Name, OnnxDataType Type, object[] Dims)>? inputs = null,
        IEnumerable<(string Name, OnnxDataType Type, object[]? Dims)>? outputs = null,
        IEnumerable<(string Domain, long Version)>? opsets = null,
        IEnumerable<(string Name, long[] Dims, long[] Values)>? int64Initializers = null)
    {
        var w = new ProtoWriter().Int64(1, 8).String(2, "attnscope-tests");
        foreach (var (domain, version) in opsets ?? [("", 17)])
            w.Message(8, o => o.String(1, domain).Int64(2, version));
        w.Message(7, g =>
        {
            foreach (var n in nodes)
                g.Message(1, nw =>
                {
                    foreach (var i in n.Inputs) nw.String(1, i);
                    foreach (var o in n.Outputs) nw.String(2, o);
                    if (n.Name.Length > 0) nw.String(3, n.Name);
                    nw.String(4, n.OpType);
                    n.Attributes?.Invoke(nw);
                    if (n.Domain.Length > 0) nw.String(7, n.Domain);
                });
            g.String(2, "tiny");
            foreach (var (name, dims, values) in initializers ?? [])
                g.Message(5, t => Tensor(t, name, dims, values));
            foreach (var (name, dims, values) in int64Initializers ?? [])
                g.Message(5, t => t.PackedInt64(1, dims).Int64(2, (int)OnnxDataType.Int64).String(8, name).PackedInt64(7, values));
            foreach (var vi in inputs ?? []) g.Message(11, v => ValueInfo(v, vi.Name, vi.Type, vi.Dims));
            foreach (var vi in outputs ?? []) g.Message(12, v => ValueInfo(v, vi.Name, vi.Type, vi.Dims));
        });
        return w.ToArray();
    }

    public static void Tensor(ProtoWriter t, string name, long[] dims, float[] values)
    {
        t.PackedInt64(1, dims).Int64(2, (int)OnnxDataType.Float).String(8, name);
        var raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        t.Bytes(9, raw);
    }

    /// <summary>A tensor ValueInfoProto; null <paramref name="dims"/> writes no shape at all (rank unknown).</summary>
    public static void ValueInfo(ProtoWriter v, string name, OnnxDataType type, object[]? dims)
    {
        v.String(1, name).Message(2, tp => tp.Message(1, tt =>
        {
            tt.Int64(1, (int)type);
            if (dims is null) return;
            tt.Message(2, shape =>
            {
                foreach (var d in dims)
                    shape.Message(1, dim => { if (d is string s) dim.String(2, s); else dim.Int64(1, Convert.ToInt64(d)); });
            });
        }));
    }

    public static Action<ProtoWriter> IntsAttribute(string name, params long[] values) =>
        nw => nw.Message(5, a => a.String(1, name).PackedInt64(8, values).Int64(20, (int)OnnxAttributeType.Ints));

    public static Action<ProtoWriter> IntAttribute(string name, long value) =>
        nw => nw.Message(5, a => a.String(1, name).Int64(3, value).Int64(20, (int)OnnxAttributeType.Int));
}
