using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Text;

namespace AttnScope.Training.Model;

/// <summary>
/// The translation model of <c>attnscope train</c> as a family of the core: a config reader (the run folder's
/// <see cref="TransformerConfig"/> → an encoder spec and a decoder spec with cross-attention) and the weight-name
/// map of its checkpoints (<c>embed.weight</c>, <c>enc.{l}.attn.q.weight</c>, <c>dec.{l}.cross.o.bias</c>, …).
/// Pre- or post-norm LayerNorm blocks, ReLU MLPs, embeddings scaled by √d, sinusoidal (interleaved) or learned
/// positions, a head tied to the shared embeddings or its own <c>out_proj</c>.
/// </summary>
internal static class TranslationFamily
{
    public const string FamilyName = "attnscope-translation";

    /// <summary>One stack of the encoder-decoder: the encoder (bidirectional, no head) or the decoder (causal,
    /// cross-attention, language-model head).</summary>
    public static TransformerSpec Spec(TransformerConfig c, bool decoder)
    {
        ArgumentNullException.ThrowIfNull(c);
        c.Validate();
        return new TransformerSpec
        {
            Family = FamilyName,
            Layers = decoder ? c.DecoderLayers : c.EncoderLayers, Hidden = c.Dim, Heads = c.Heads, KvHeads = c.Heads, HeadDim = c.Dim / c.Heads,
            Intermediate = c.FeedForward, Vocab = c.VocabSize, MaxPositions = c.MaxLength,
            Norm = NormKind.LayerNorm, Placement = c.PreNorm ? NormPlacement.Pre : NormPlacement.Post, NormEps = 1e-5f, FinalNorm = c.PreNorm,
            EmbeddingScale = MathF.Sqrt(c.Dim),
            Positions = c.LearnedPositions ? PositionKind.Learned : PositionKind.Sinusoidal, Sinusoids = SinusoidLayout.Interleaved,
            Activation = "relu", Causal = decoder, CrossAttention = decoder,
            LmHead = decoder, TiedHead = decoder && c.SharedEmbeddings,
            BosId = SubwordVocabulary.BosId, EosId = SubwordVocabulary.EosId,
        };
    }

    /// <summary>A checkpoint tensor: its name and shape (PyTorch layout), and whether weight decay skips it.</summary>
    public sealed record WeightName(string Name, int[] Shape, bool NoDecay);

    /// <summary>Every tensor of a config in checkpoint order (the order of the original training model).</summary>
    public static IReadOnlyList<WeightName> WeightNames(TransformerConfig c)
    {
        int d = c.Dim, ff = c.FeedForward, v = c.VocabSize;
        var all = new List<WeightName>();
        void Norm(string n) { all.Add(new(n + ".weight", [d], true)); all.Add(new(n + ".bias", [d], true)); }
        void Linear(string n, int inF, int outF) { all.Add(new(n + ".weight", [outF, inF], false)); all.Add(new(n + ".bias", [outF], true)); }
        void Attention(string n) { foreach (var p in new[] { "q", "k", "v", "o" }) Linear($"{n}.{p}", d, d); }
        if (c.SharedEmbeddings) all.Add(new("embed.weight", [v, d], false));
        else { all.Add(new("src_embed.weight", [v, d], false)); all.Add(new("tgt_embed.weight", [v, d], false)); }
        if (c.LearnedPositions) { all.Add(new("src_pos.weight", [c.MaxLength, d], true)); all.Add(new("tgt_pos.weight", [c.MaxLength, d], true)); }
        for (int l = 0; l < c.EncoderLayers; l++)
        {
            Norm($"enc.{l}.norm1"); Attention($"enc.{l}.attn"); Norm($"enc.{l}.norm2");
            Linear($"enc.{l}.ff.up", d, ff); Linear($"enc.{l}.ff.down", ff, d);
        }
        if (c.PreNorm) Norm("enc.norm");
        for (int l = 0; l < c.DecoderLayers; l++)
        {
            Norm($"dec.{l}.norm1"); Attention($"dec.{l}.self"); Norm($"dec.{l}.norm2"); Attention($"dec.{l}.cross"); Norm($"dec.{l}.norm3");
            Linear($"dec.{l}.ff.up", d, ff); Linear($"dec.{l}.ff.down", ff, d);
        }
        if (c.PreNorm) Norm("dec.norm");
        if (!c.SharedEmbeddings) all.Add(new("out_proj.weight", [v, d], false));
        return all;
    }

    /// <summary>The encoder's and the decoder's tensors, mapped from checkpoint names by <paramref name="get"/>.</summary>
    public static (CoreTensors Encoder, CoreTensors Decoder) Map(TransformerConfig c, Func<string, float[]> get)
    {
        float[]? Opt(string name, bool when) => when ? get(name) : null;
        CoreLayerTensors Layer(string p, string self, bool cross) => new()
        {
            Query = get($"{p}.{self}.q.weight"), QueryBias = get($"{p}.{self}.q.bias"),
            Key = get($"{p}.{self}.k.weight"), KeyBias = get($"{p}.{self}.k.bias"),
            Value = get($"{p}.{self}.v.weight"), ValueBias = get($"{p}.{self}.v.bias"),
            Output = get($"{p}.{self}.o.weight"), OutputBias = get($"{p}.{self}.o.bias"),
            Norm1Gain = get($"{p}.norm1.weight"), Norm1Bias = get($"{p}.norm1.bias"),
            CrossQuery = Opt($"{p}.cross.q.weight", cross), CrossQueryBias = Opt($"{p}.cross.q.bias", cross),
            CrossKey = Opt($"{p}.cross.k.weight", cross), CrossKeyBias = Opt($"{p}.cross.k.bias", cross),
            CrossValue = Opt($"{p}.cross.v.weight", cross), CrossValueBias = Opt($"{p}.cross.v.bias", cross),
            CrossOutput = Opt($"{p}.cross.o.weight", cross), CrossOutputBias = Opt($"{p}.cross.o.bias", cross),
            CrossNormGain = Opt($"{p}.norm2.weight", cross), CrossNormBias = Opt($"{p}.norm2.bias", cross),
            Norm2Gain = get(cross ? $"{p}.norm3.weight" : $"{p}.norm2.weight"), Norm2Bias = get(cross ? $"{p}.norm3.bias" : $"{p}.norm2.bias"),
            Up = get($"{p}.ff.up.weight"), UpBias = get($"{p}.ff.up.bias"), Down = get($"{p}.ff.down.weight"), DownBias = get($"{p}.ff.down.bias"),
        };
        var encoder = new CoreTensors
        {
            TokenEmbeddings = get(c.SharedEmbeddings ? "embed.weight" : "src_embed.weight"),
            PositionEmbeddings = Opt("src_pos.weight", c.LearnedPositions),
            Layers = Enumerable.Range(0, c.EncoderLayers).Select(l => Layer($"enc.{l}", "attn", cross: false)).ToArray(),
            FinalNormGain = Opt("enc.norm.weight", c.PreNorm), FinalNormBias = Opt("enc.norm.bias", c.PreNorm),
        };
        var decoder = new CoreTensors
        {
            TokenEmbeddings = get(c.SharedEmbeddings ? "embed.weight" : "tgt_embed.weight"),
            PositionEmbeddings = Opt("tgt_pos.weight", c.LearnedPositions),
            Layers = Enumerable.Range(0, c.DecoderLayers).Select(l => Layer($"dec.{l}", "self", cross: true)).ToArray(),
            FinalNormGain = Opt("dec.norm.weight", c.PreNorm), FinalNormBias = Opt("dec.norm.bias", c.PreNorm),
            Unembedding = Opt("out_proj.weight", !c.SharedEmbeddings),
        };
        return (encoder, decoder);
    }

    /// <summary>
    /// A run folder of <c>attnscope train</c> as an encoder-decoder of the core: its config, and its averaged
    /// weights or newest checkpoint (<see cref="RunFolder.ModelWeights"/>; or the given checkpoint), checked by name and shape.
    /// </summary>
    /// <exception cref="AttnScopeException">Not a run folder, no checkpoint, or a checkpoint of another config.</exception>
    public static EncoderDecoderModel Load(string runFolder, string? checkpoint = null)
    {
        var run = RunFolder.Open(runFolder);
        var model = new Transformer(run.Config.Model);
        Checkpoint.Load(checkpoint ?? run.ModelWeights(), model, optimizer: null);
        return model.AsEncoderDecoder();
    }
}
