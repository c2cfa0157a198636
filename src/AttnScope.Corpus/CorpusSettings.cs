using AttnScope.Capture;

namespace AttnScope.Corpus;

/// <summary>What a corpus database was built with; a resumed run must match it.</summary>
internal sealed record CorpusSettings(string Model, int Layers, int Heads, IReadOnlyList<HeadRef> QkHeads, int QkTokens)
{
    /// <summary>The settings as <c>corpus_info</c> rows.</summary>
    public IReadOnlyDictionary<string, string> ToInfo() => new Dictionary<string, string>
    {
        ["schema_version"] = CorpusSchema.Version,
        ["model"] = Model,
        ["layers"] = Layers.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["heads"] = Heads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["qk_heads"] = string.Join(",", QkHeads),
        ["qk_tokens"] = QkTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["stats"] = string.Join(",", CorpusStatNames.All),
    };

    /// <summary>Throws unless a database's stored info equals these settings (a resumed run must not mix models or heads).</summary>
    public void CheckSame(IReadOnlyDictionary<string, string> stored, string path)
    {
        foreach (var (key, value) in ToInfo())
        {
            if (!stored.TryGetValue(key, out var old))
                throw new AttnScopeException($"'{path}' is not a corpus database of this AttnScope (no '{key}' in corpus_info)");
            if (old != value)
                throw new AttnScopeException($"'{path}' was built with {key} = '{old}', not '{value}': resume with the same options, or write a new database");
        }
    }
}
