using AttnScope.Capture;

namespace AttnScope.Sources.Models;

/// <summary>
/// Named float32 weights in Hugging Face BERT naming without the <c>bert.</c> prefix, e.g.
/// <c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0.attention.self.query.weight</c>.
/// Linear weights use PyTorch's layout [out_features, in_features].
/// </summary>
internal sealed class WeightStore
{
    private readonly Dictionary<string, FloatTensor> _tensors = new(StringComparer.Ordinal);

    public string Origin { get; }

    public WeightStore(string origin) => Origin = origin;

    public IEnumerable<string> Names => _tensors.Keys;
    public int Count => _tensors.Count;

    public void Add(string name, FloatTensor tensor) => _tensors[NormalizeName(name)] = tensor;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public FloatTensor Get(string name)
    {
        if (_tensors.TryGetValue(name, out var t)) return t;
        throw new AttnScopeException($"weights from {Origin} have no tensor '{name}'");
    }

    /// <summary>Gets a tensor and checks its shape, naming both shapes when they differ.</summary>
    public FloatTensor Get(string name, params int[] shape)
    {
        var t = Get(name);
        if (!t.Shape.SequenceEqual(shape))
            throw new AttnScopeException($"weights from {Origin}: '{name}' has shape {t.ShapeText}, expected [{string.Join(", ", shape)}]");
        return t;
    }

    private static readonly string[] ModelPrefixes = ["bert.", "roberta.", "electra."];
    private static readonly string[] ModelParts = ["embeddings.", "encoder.", "pooler."];

    /// <summary>Strips a leading model prefix (<c>bert.embeddings...</c> → <c>embeddings...</c>).</summary>
    public static string NormalizeName(string name)
    {
        foreach (var p in ModelPrefixes)
            if (name.StartsWith(p, StringComparison.Ordinal) && ModelParts.Any(part => name.AsSpan(p.Length).StartsWith(part, StringComparison.Ordinal)))
                return name[p.Length..];
        return name;
    }
}
