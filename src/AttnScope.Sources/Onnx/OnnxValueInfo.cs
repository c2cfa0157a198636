namespace AttnScope.Sources.Onnx;

/// <summary>An ONNX ValueInfoProto: a graph input or output with its tensor element type and dims.</summary>
internal sealed class OnnxValueInfo
{
    public string Name { get; internal set; } = "";
    /// <summary>Element type of a tensor value; <see cref="OnnxDataType.Undefined"/> for non-tensor types.</summary>
    public OnnxDataType ElemType { get; internal set; }
    /// <summary>Dims: a fixed size, or null for a symbolic/unknown dimension (see <see cref="DimParams"/>).</summary>
    public List<long?> Dims { get; } = [];
    /// <summary>Symbolic names of dims ("batch", "sequence"), null where the dim is fixed or unnamed.</summary>
    public List<string?> DimParams { get; } = [];
    /// <summary>False when the type carries no shape at all (rank unknown).</summary>
    public bool HasShape { get; internal set; }

    public int Rank => Dims.Count;

    public override string ToString() => !HasShape
        ? $"{Name}: {OnnxDataTypes.Name(ElemType)} (no shape)"
        : $"{Name}: {OnnxDataTypes.Name(ElemType)} [{string.Join(", ", Dims.Select((d, i) => d?.ToString() ?? DimParams[i] ?? "?"))}]";

    internal static OnnxValueInfo Parse(ProtoReader r)
    {
        var v = new OnnxValueInfo();
        while (r.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited); v.Name = r.ReadString(); break;
                case 2: r.Expect(field, wt, WireType.LengthDelimited); v.ParseType(r.ReadMessage()); break;
                default: r.Skip(wt); break;
            }
        }
        return v;
    }

    private void ParseType(ProtoReader r)
    {
        while (r.TryReadTag(out int field, out var wt))
        {
            if (field == 1)
            {
                r.Expect(field, wt, WireType.LengthDelimited);
                var t = r.ReadMessage();
                while (t.TryReadTag(out int f, out var w))
                {
                    if (f == 1) { t.Expect(f, w, WireType.Varint); ElemType = (OnnxDataType)t.ReadInt32(); }
                    else if (f == 2) { t.Expect(f, w, WireType.LengthDelimited); HasShape = true; ParseShape(t.ReadMessage()); }
                    else t.Skip(w);
                }
            }
            else r.Skip(wt);
        }
    }

    private void ParseShape(ProtoReader r)
    {
        while (r.TryReadTag(out int field, out var wt))
        {
            if (field != 1) { r.Skip(wt); continue; }
            r.Expect(field, wt, WireType.LengthDelimited);
            var d = r.ReadMessage();
            long? value = null;
            string? param = null;
            while (d.TryReadTag(out int f, out var w))
            {
                if (f == 1) { d.Expect(f, w, WireType.Varint); value = d.ReadInt64(); }
                else if (f == 2) { d.Expect(f, w, WireType.LengthDelimited); param = d.ReadString(); }
                else d.Skip(w);
            }
            Dims.Add(value);
            DimParams.Add(param);
        }
    }
}
