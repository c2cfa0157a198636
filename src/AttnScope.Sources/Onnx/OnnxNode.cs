namespace AttnScope.Sources.Onnx;

/// <summary>An ONNX NodeProto: one operator application.</summary>
internal sealed class OnnxNode
{
    public string Name { get; internal set; } = "";
    public string OpType { get; internal set; } = "";
    /// <summary>Operator domain; "" (or "ai.onnx") is the default ONNX domain.</summary>
    public string Domain { get; internal set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public List<OnnxAttribute> Attributes { get; } = [];
    /// <summary>Position in the graph's node list.</summary>
    public int Index { get; internal set; }

    public bool IsDefaultDomain => Domain is "" or "ai.onnx";
    public string QualifiedOpType => IsDefaultDomain ? OpType : $"{Domain}.{OpType}";
    public string DisplayName => Name.Length > 0 ? $"{OpType} node '{Name}'" : $"{OpType} node #{Index}";

    public bool Is(string opType) => IsDefaultDomain && OpType == opType;

    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    public long? IntAttribute(string name) => Attribute(name) is { Type: OnnxAttributeType.Int } a ? a.Int : null;
    public float? FloatAttribute(string name) => Attribute(name) is { Type: OnnxAttributeType.Float } a ? a.Float : null;

    public override string ToString() => $"{QualifiedOpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";

    internal static OnnxNode Parse(ProtoReader r, int index)
    {
        var n = new OnnxNode { Index = index };
        while (r.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited); n.Inputs.Add(r.ReadString()); break;
                case 2: r.Expect(field, wt, WireType.LengthDelimited); n.Outputs.Add(r.ReadString()); break;
                case 3: r.Expect(field, wt, WireType.LengthDelimited); n.Name = r.ReadString(); break;
                case 4: r.Expect(field, wt, WireType.LengthDelimited); n.OpType = r.ReadString(); break;
                case 5: r.Expect(field, wt, WireType.LengthDelimited); n.Attributes.Add(OnnxAttribute.Parse(r.ReadMessage())); break;
                case 7: r.Expect(field, wt, WireType.LengthDelimited); n.Domain = r.ReadString(); break;
                default: r.Skip(wt); break;
            }
        }
        return n;
    }
}

/// <summary>ONNX AttributeProto.AttributeType values.</summary>
internal enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    SparseTensor = 11,
    TypeProto = 13,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensors = 12,
    TypeProtos = 14,
}

/// <summary>An ONNX AttributeProto; ints, floats, strings and tensors are decoded, subgraphs are not.</summary>
internal sealed class OnnxAttribute
{
    public string Name { get; internal set; } = "";
    public OnnxAttributeType Type { get; internal set; }
    public float Float { get; internal set; }
    public long Int { get; internal set; }
    public ReadOnlyMemory<byte> String { get; internal set; }
    public OnnxTensor? Tensor { get; internal set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];

    public string StringValue => System.Text.Encoding.UTF8.GetString(String.Span);

    internal static OnnxAttribute Parse(ProtoReader r)
    {
        var a = new OnnxAttribute();
        while (r.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited); a.Name = r.ReadString(); break;
                case 2: r.Expect(field, wt, WireType.Fixed32); a.Float = r.ReadFloat(); break;
                case 3: r.Expect(field, wt, WireType.Varint); a.Int = r.ReadInt64(); break;
                case 4: r.Expect(field, wt, WireType.LengthDelimited); a.String = r.ReadBytes(); break;
                case 5: r.Expect(field, wt, WireType.LengthDelimited); a.Tensor = OnnxTensor.Parse(r.ReadMessage()); break;
                case 7: r.ReadRepeatedFloat(wt, a.Floats); break;
                case 8: r.ReadRepeatedInt64(wt, a.Ints); break;
                case 20: r.Expect(field, wt, WireType.Varint); a.Type = (OnnxAttributeType)r.ReadInt32(); break;
                default: r.Skip(wt); break;
            }
        }
        if (a.Type == OnnxAttributeType.Undefined)
        {
            // Older exporters leave `type` unset; infer it from the field present.
            if (a.Tensor is not null) a.Type = OnnxAttributeType.Tensor;
            else if (a.Ints.Count > 0) a.Type = OnnxAttributeType.Ints;
            else if (a.Floats.Count > 0) a.Type = OnnxAttributeType.Floats;
        }
        return a;
    }
}
