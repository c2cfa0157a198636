using AttnScope.Sources.Models;

namespace AttnScope.Sources.Transformer.Families;

/// <summary>
/// A model family: a config reader and a weight-name map over the one core. Nothing else: the computation is the
/// core's.
/// </summary>
internal interface IModelFamily
{
    /// <summary>The family's name, e.g. <c>gpt2</c>, <c>llama</c>.</summary>
    string Name { get; }
    /// <summary>The config.json <c>model_type</c> values it reads.</summary>
    IReadOnlyList<string> ModelTypes { get; }
    /// <summary>The stack description from a parsed config.</summary>
    TransformerSpec ReadConfig(ConfigJson config);
    /// <summary>The family's tensors mapped onto the core's slots (names checked, shapes checked by the core).</summary>
    CoreTensors MapWeights(TransformerSpec spec, WeightStore weights);
}
