using AttnScope.Capture;

namespace AttnScope.Sources.Onnx;

/// <summary>An ONNX GraphProto: nodes, initializers, inputs and outputs, with look-ups by value name.</summary>
internal sealed class OnnxGraph
{
    public string Name { get; internal set; } = "";
    public List<OnnxNode> Nodes { get; } = [];
    public List<OnnxTensor> Initializers { get; } = [];
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];
    public List<OnnxValueInfo> ValueInfo { get; } = [];

    private Dictionary<string, OnnxTensor>? _initByName;
    private Dictionary<string, OnnxNode>? _producer;
    private Dictionary<string, List<OnnxNode>>? _consumers;

    private Dictionary<string, OnnxTensor> InitByName =>
        _initByName ??= Initializers.Where(t => t.Name.Length > 0).GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    private Dictionary<string, OnnxNode> Producers
    {
        get
        {
            if (_producer is null)
            {
                _producer = new(StringComparer.Ordinal);
                foreach (var n in Nodes)
                    foreach (var o in n.Outputs)
                        if (o.Length > 0) _producer.TryAdd(o, n);
            }
            return _producer;
        }
    }

    private Dictionary<string, List<OnnxNode>> ConsumerMap
    {
        get
        {
            if (_consumers is null)
            {
                _consumers = new(StringComparer.Ordinal);
                foreach (var n in Nodes)
                    foreach (var i in n.Inputs.Distinct())
                    {
                        if (i.Length == 0) continue;
                        if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                        list.Add(n);
                    }
            }
            return _consumers;
        }
    }

    public OnnxTensor? Initializer(string name) => InitByName.GetValueOrDefault(name);

    /// <summary>The node whose output is <paramref name="value"/>, or null (graph input, initializer).</summary>
    public OnnxNode? Producer(string value) => Producers.GetValueOrDefault(value);

    /// <summary>The nodes reading <paramref name="value"/>, in graph order.</summary>
    public IReadOnlyList<OnnxNode> Consumers(string value) => ConsumerMap.TryGetValue(value, out var l) ? l : [];

    /// <summary>
    /// The constant tensor behind a value: an initializer or a Constant node's value, following Identity and Cast
    /// (a Cast only changes the element type, so the returned tensor's values stay valid as numbers). Null if the
    /// value is computed.
    /// </summary>
    public OnnxTensor? ConstantValue(string value)
    {
        for (int guard = 0; guard < 64; guard++)
        {
            if (Initializer(value) is { } t) return t;
            var p = Producer(value);
            if (p is null) return null;
            if (p.Is("Constant")) return p.Attribute("value")?.Tensor;
            if ((p.Is("Identity") || p.Is("Cast")) && p.Inputs.Count > 0) { value = p.Inputs[0]; continue; }
            return null;
        }
        return null;
    }

    /// <summary>
    /// Nodes in a topological order (stable: graph order among ready nodes). Throws if the graph has a cycle.
    /// </summary>
    public IReadOnlyList<OnnxNode> TopologicalOrder()
    {
        var pending = new int[Nodes.Count];
        var waiting = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < Nodes.Count; i++)
        {
            foreach (var input in Nodes[i].Inputs.Distinct())
            {
                if (input.Length == 0 || Producer(input) is null) continue;
                if (Producer(input) == Nodes[i]) continue;
                pending[i]++;
                if (!waiting.TryGetValue(input, out var l)) waiting[input] = l = [];
                l.Add(i);
            }
        }
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < Nodes.Count; i++) if (pending[i] == 0) ready.Enqueue(i, i);
        var order = new List<OnnxNode>(Nodes.Count);
        var produced = new HashSet<string>(StringComparer.Ordinal);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(Nodes[i]);
            foreach (var o in Nodes[i].Outputs)
            {
                if (o.Length == 0 || Producer(o) != Nodes[i] || !produced.Add(o)) continue;
                if (!waiting.TryGetValue(o, out var l)) continue;
                foreach (var j in l)
                    if (--pending[j] == 0) ready.Enqueue(j, j);
            }
        }
        if (order.Count != Nodes.Count)
            throw new AttnScopeException($"the ONNX graph has a cycle ({Nodes.Count - order.Count} nodes are never ready)");
        return order;
    }

    internal void MergeFrom(ProtoReader r)
    {
        while (r.TryReadTag(out int field, out var wt))
        {
            switch (field)
            {
                case 1: r.Expect(field, wt, WireType.LengthDelimited); Nodes.Add(OnnxNode.Parse(r.ReadMessage(), Nodes.Count)); break;
                case 2: r.Expect(field, wt, WireType.LengthDelimited); Name = r.ReadString(); break;
                case 5: r.Expect(field, wt, WireType.LengthDelimited); Initializers.Add(OnnxTensor.Parse(r.ReadMessage())); break;
                case 11: r.Expect(field, wt, WireType.LengthDelimited); Inputs.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                case 12: r.Expect(field, wt, WireType.LengthDelimited); Outputs.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                case 13: r.Expect(field, wt, WireType.LengthDelimited); ValueInfo.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                default: r.Skip(wt); break;
            }
        }
        _initByName = null;
        _producer = null;
        _consumers = null;
    }

    /// <summary>Graph inputs that are real inputs (not initializers listed as inputs, as older exporters do).</summary>
    public IEnumerable<OnnxValueInfo> RealInputs => Inputs.Where(i => Initializer(i.Name) is null);
}
