using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Analyses.Relevance;

/// <summary>Changes one head's probabilities [queries, keys] after the softmax, before they weight the values.</summary>
internal delegate void AttentionEdit(int layer, int head, Span<float> probabilities);

/// <summary>
/// Gradients of a scalar of a BERT-family encoder's last hidden state with respect to every attention probability,
/// from the one Transformer core's recorded forward pass and its backward pass (float32, as the capture was made).
/// A thin adapter: the computation is the core's.
/// </summary>
internal sealed class EncoderGradients
{
    /// <summary>One recorded forward pass.</summary>
    public sealed class Pass
    {
        internal Pass(int n, CoreTape tape, float[] attention, double[] last, int heads)
        {
            Length = n; Tape = tape; _attention = attention; LastHidden = last; _heads = heads;
        }
        private readonly float[] _attention;
        private readonly int _heads;
        internal CoreTape Tape { get; }
        public int Length { get; }
        /// <summary>Last hidden state [n, hidden].</summary>
        public double[] LastHidden { get; }
        /// <summary>Attention probabilities of layer l, [heads, n, n].</summary>
        public double[] Attention(int layer)
        {
            int len = _heads * Length * Length;
            return Array.ConvertAll(_attention.AsSpan(layer * len, len).ToArray(), v => (double)v);
        }
    }

    public BertConfig Config { get; }
    public TransformerModel Model { get; }

    public EncoderGradients(BertConfig config, WeightStore weights)
    {
        Config = config;
        Model = BertFamily.Load(config, weights);
    }

    /// <summary>Loads the weights the way the managed engine does: model.safetensors, or recovered from the ONNX graph.</summary>
    public static EncoderGradients Load(ModelFiles files, BertConfig config) => new(config, SourceFactory.ManagedWeights(files, config));

    /// <summary>Runs one sequence and records the pass; <paramref name="edit"/>, if given, changes probabilities.</summary>
    public Pass Forward(EncodedInput input, AttentionEdit? edit = null)
    {
        var hooks = edit is null ? null : new HookSet();
        if (edit is not null)
        {
            int n = input.Length, heads = Config.NumHeads;
            for (int l = 0; l < Config.NumLayers; l++)
            {
                int layer = l;
                hooks!.Edit(HookPoints.Pattern(l), (p, _) =>
                {
                    for (int h = 0; h < heads; h++) edit(layer, h, p.Slice(h * n * n, n * n));
                });
            }
        }
        var r = Model.Forward(new ForwardInput { Ids = input.Ids, TypeIds = input.TypeIds, Record = true, Hooks = hooks });
        return new Pass(input.Length, r.Tape!, r.Attention!.Data, Array.ConvertAll(r.Hidden.Data, v => (double)v), Config.NumHeads);
    }

    /// <summary>∂f/∂P for every layer, [heads, n, n] each (layer order), from ∂f/∂(last hidden state) [n, hidden].</summary>
    public double[][] Backward(Pass pass, double[] dLastHidden)
    {
        if (dLastHidden.Length != pass.Length * Config.HiddenSize) throw new ArgumentException("the gradient does not match the pass", nameof(dLastHidden));
        var dP = Model.Backward(pass.Tape, Array.ConvertAll(dLastHidden, v => (float)v), null, probabilityGradients: true)!;
        return dP.Select(a => Array.ConvertAll(a, v => (double)v)).ToArray();
    }
}
