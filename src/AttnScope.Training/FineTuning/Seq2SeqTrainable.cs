using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Sources.Models;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.Model;

namespace AttnScope.Training.FineTuning;

/// <summary>
/// A pretrained encoder-decoder as trainable <see cref="Parameter"/>s under Hugging Face's weight names, viewed as the
/// core's tensors of its family's encoder and decoder specs: no second Transformer, the forward and backward passes
/// are the core's. Marian (opus-mt): <c>model.shared.weight</c>, <c>model.encoder.layers.{l}.self_attn.q_proj.weight</c>,
/// …, with <c>final_logits_bias</c> and the sinusoid tables fixed (buffers in Hugging Face's model too). T5 (t5,
/// flan-t5, mt5): <c>shared.weight</c>, <c>encoder.block.{l}.layer.0.SelfAttention.q.weight</c>, … through
/// <see cref="T5Family.Tensors"/>, the relative-position bias tables trained too. The shared embedding (encoder,
/// decoder and a tied head) is one parameter whose gradient both stacks add into.
/// </summary>
internal sealed class Seq2SeqTrainable
{
    /// <summary>The shared embedding's name in a Marian file.</summary>
    public const string Shared = MarianFamily.SharedName;

    public string ConfigPath { get; }
    /// <summary><c>marian</c> or <c>t5</c>.</summary>
    public string Family { get; }
    /// <summary>The shared embedding's parameter name (<see cref="Shared"/>, or T5's <c>shared.weight</c>).</summary>
    public string SharedName { get; }
    public TransformerSpec EncoderSpec { get; }
    public TransformerSpec DecoderSpec { get; }
    public IReadOnlyList<Parameter> Parameters { get; }
    public int DecoderStartId { get; }
    public int EosId { get; }
    public int PadId { get; }
    /// <summary>The config's dropout (<c>dropout</c>, T5's <c>dropout_rate</c>), applied where the core applies it:
    /// the embeddings and every sub-layer's output.</summary>
    public float Dropout { get; }
    public LabelSmoothedCrossEntropy Loss { get; private set; }

    private readonly string[] _aliases; // copies of the shared table that the file held (written from it, never read)
    private readonly CoreTensors _encoderTensors, _decoderTensors;
    private readonly CoreGradients _encoderGrads, _decoderGrads;
    private readonly Dictionary<string, FloatTensor> _fixed; // every tensor of the file that is not a parameter, written back as read
    private readonly TransformerModel _encoder, _decoder;
    private long _packedVersion;
    private CoreTape? _encoderTape, _decoderTape;
    private int _rows;

    private Seq2SeqTrainable(string configPath, WeightStore w, float labelSmoothing)
    {
        ConfigPath = configPath;
        var c = ConfigJson.Parse(ModelFamilies.ReadConfigText(configPath), configPath);
        string? type = c.String("model_type");
        bool t5 = T5Family.IsT5(type);
        if (!t5 && type != MarianFamily.ModelType)
            throw new AttnScopeException($"{configPath}: model_type '{type}' is not a family AttnScope fine-tunes (marian, {string.Join(", ", T5Family.ModelTypes)})");
        Family = t5 ? "t5" : MarianFamily.ModelType;
        SharedName = t5 ? "shared.weight" : Shared;
        EncoderSpec = t5 ? T5Family.Stack(c, decoder: false) : MarianFamily.Stack(c, decoder: false);
        DecoderSpec = t5 ? T5Family.Stack(c, decoder: true) : MarianFamily.Stack(c, decoder: true);
        EncoderSpec.Validate(configPath);
        DecoderSpec.Validate(configPath);
        PadId = c.TokenId("pad_token_id") ?? throw new AttnScopeException($"{configPath} has no pad_token_id");
        DecoderStartId = c.TokenId("decoder_start_token_id") ?? PadId;
        EosId = c.TokenId("eos_token_id") ?? throw new AttnScopeException($"{configPath} has no eos_token_id");
        Dropout = c.Float(t5 ? "dropout_rate" : "dropout", t5 ? 0.1f : 0f);
        if (Dropout is < 0f or >= 1f) throw new AttnScopeException($"{configPath}: dropout {Dropout} is not in [0, 1)");
        int d = EncoderSpec.Hidden, v = EncoderSpec.Vocab;

        var parameters = new List<Parameter>();
        var byName = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        string[] sharedCopies = t5 ? ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] : ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"];
        float[] P(string name, params int[] shape)
        {
            var p = new Parameter(name, shape, noDecay: shape.Length == 1);
            var source = name == SharedName && !w.Contains(name) ? sharedCopies[0] : name;
            w.Get(source, shape).Data.CopyTo(p.Value, 0);
            parameters.Add(p);
            byName[name] = p;
            return p.Value;
        }
        var shared = P(SharedName, v, d);
        float[]? bias = null;
        if (t5)
        {
            var head = DecoderSpec.TiedHead ? null : P("lm_head.weight", v, d);
            _encoderTensors = T5Family.Tensors(EncoderSpec, "encoder", shared, (n, shape) => P(n, shape));
            _decoderTensors = T5Family.Tensors(DecoderSpec, "decoder", shared, (n, shape) => P(n, shape), head);
        }
        else
        {
            bias = MarianFamily.FinalLogitsBias(w, v);
            _encoderTensors = MarianFamily.Tensors(EncoderSpec, "model.encoder", shared, (n, shape) => P(n, shape));
            _decoderTensors = MarianFamily.Tensors(DecoderSpec, "model.decoder", shared, (n, shape) => P(n, shape), bias);
        }
        Parameters = parameters;
        // the core adds gradients into arrays shaped like the tensors: here each parameter's own Grad
        var gradOf = new Dictionary<float[], float[]>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters) gradOf[p.Value] = p.Grad;
        _encoderGrads = new CoreGradients { Values = _encoderTensors, Grads = GradientsOf(_encoderTensors, gradOf) };
        _decoderGrads = new CoreGradients { Values = _decoderTensors, Grads = GradientsOf(_decoderTensors, gradOf) };
        // copies of the shared table the file holds (a tied lm_head included) are written from the trained table
        _aliases = [.. sharedCopies.Append("lm_head.weight").Where(n => w.Contains(n) && !byName.ContainsKey(n))];
        _fixed = new Dictionary<string, FloatTensor>(StringComparer.Ordinal);
        foreach (var name in w.Names)
            if (!byName.ContainsKey(name) && !_aliases.Contains(name)) _fixed[name] = w.Get(name);
        _encoder = new TransformerModel(EncoderSpec, _encoderTensors, w.Origin);
        _decoder = new TransformerModel(DecoderSpec, _decoderTensors, w.Origin);
        _packedVersion = Version();
        Loss = new LabelSmoothedCrossEntropy(labelSmoothing, PadId);
    }

    private static CoreTensors GradientsOf(CoreTensors values, Dictionary<float[], float[]> gradOf)
    {
        float[]? G(float[]? value) => value is null ? null : gradOf[value];
        return new CoreTensors
        {
            TokenEmbeddings = G(values.TokenEmbeddings)!,
            UnembeddingBias = values.UnembeddingBias is null ? null : new float[values.UnembeddingBias.Length], // fixed: a scratch gradient
            Unembedding = G(values.Unembedding), RelativeBias = G(values.RelativeBias),
            FinalNormGain = G(values.FinalNormGain), FinalNormBias = G(values.FinalNormBias),
            Layers = values.Layers.Select(l => new CoreLayerTensors
            {
                Query = G(l.Query)!, QueryBias = G(l.QueryBias), Key = G(l.Key)!, KeyBias = G(l.KeyBias),
                Value = G(l.Value)!, ValueBias = G(l.ValueBias), Output = G(l.Output)!, OutputBias = G(l.OutputBias),
                Norm1Gain = G(l.Norm1Gain)!, Norm1Bias = G(l.Norm1Bias),
                CrossQuery = G(l.CrossQuery), CrossQueryBias = G(l.CrossQueryBias), CrossKey = G(l.CrossKey), CrossKeyBias = G(l.CrossKeyBias),
                CrossValue = G(l.CrossValue), CrossValueBias = G(l.CrossValueBias), CrossOutput = G(l.CrossOutput), CrossOutputBias = G(l.CrossOutputBias),
                CrossNormGain = G(l.CrossNormGain), CrossNormBias = G(l.CrossNormBias),
                Gate = G(l.Gate), GateBias = G(l.GateBias), Up = G(l.Up), UpBias = G(l.UpBias), Down = G(l.Down), DownBias = G(l.DownBias),
                Norm2Gain = G(l.Norm2Gain), Norm2Bias = G(l.Norm2Bias),
            }).ToArray(),
        };
    }

    /// <summary>Reads a Marian or T5 folder's config.json and model.safetensors.</summary>
    public static Seq2SeqTrainable Load(string folder, float labelSmoothing = 0.1f)
    {
        var config = Path.Combine(folder, "config.json");
        var weights = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(config)) throw new AttnScopeException($"{folder}: no config.json (not a Marian or T5 model folder)");
        if (!File.Exists(weights)) throw new AttnScopeException($"{folder}: no model.safetensors (PyTorch .bin weights are not read)");
        return new Seq2SeqTrainable(config, SafetensorsWeights.Load(weights), labelSmoothing);
    }

    public long ParameterCount => Parameters.Sum(p => (long)p.Length);

    public Parameter this[string name] => Parameters.FirstOrDefault(p => p.Name == name) ?? throw new KeyNotFoundException(name);

    public void SetLabelSmoothing(float smoothing) => Loss = new LabelSmoothedCrossEntropy(smoothing, PadId);

    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    private long Version()
    {
        long v = 0;
        foreach (var p in Parameters) v += p.Version;
        return v;
    }

    private void Refresh()
    {
        long v = Version();
        if (v == _packedVersion) return;
        _encoder.Repack();
        _decoder.Repack();
        _packedVersion = v;
    }

    /// <summary>The current weights as the core's inference model.</summary>
    public EncoderDecoderModel AsEncoderDecoder()
    {
        Refresh();
        return new EncoderDecoderModel { Encoder = _encoder, Decoder = _decoder, DecoderStartId = DecoderStartId, EosId = EosId };
    }

    /// <summary>
    /// Teacher-forced loss of a batch (sources ending in &lt;/s&gt;; decoder inputs start·y, targets y·&lt;/s&gt;; the
    /// batch filled with <see cref="DecoderStartId"/> as its start token) as packed sequences, keeping the tapes.
    /// </summary>
    public StepLoss Forward(Batch batch, float dropout, ulong seed)
    {
        Refresh();
        int n = batch.Size;
        var (src, srcLens, tgt, tgtLens) = batch.Packed();
        ulong encoderSeed = seed * 0x9E3779B97F4A7C15UL + 1, decoderSeed = seed * 0x9E3779B97F4A7C15UL + 2;
        var encoded = _encoder.Forward(new ForwardInput { Ids = src, Segments = srcLens, Record = true, Dropout = dropout, DropoutSeed = encoderSeed, Reuse = _encoderTape });
        var decoded = _decoder.Forward(new ForwardInput
        {
            Ids = tgt, Segments = tgtLens, Memory = encoded.Hidden, MemorySegments = srcLens, Logits = LogitRows.All, Record = true,
            Dropout = dropout, DropoutSeed = decoderSeed, Reuse = _decoderTape,
        });
        _encoderTape = encoded.Tape;
        _decoderTape = decoded.Tape;
        _rows = tgt.Length;
        var (loss, nll, tokens) = Loss.Forward(decoded.Logits!.Data, _rows, DecoderSpec.Vocab, Transformer.PackedTargets(batch));
        return new StepLoss(loss, nll, tokens);
    }

    /// <summary>Adds d(loss·<paramref name="scale"/>)/dθ of the last <see cref="Forward"/> to every parameter's gradient.</summary>
    public void Backward(float scale)
    {
        var decoderTape = _decoderTape ?? throw new InvalidOperationException("Backward needs a Forward first");
        var outputs = new BackwardOutputs();
        _decoder.BackwardFromLogits(decoderTape, Loss.Backward(scale), _decoderGrads, outputs: outputs);
        _encoder.Backward(_encoderTape!, outputs.MemoryGradient!, _encoderGrads);
    }

    /// <summary>
    /// Writes model.safetensors in Hugging Face's names: every parameter, the shared table again under each copy the
    /// source file held (the encoder's and decoder's <c>embed_tokens.weight</c>, a tied <c>lm_head.weight</c>), and every
    /// other tensor of the file it came from (Marian's <c>final_logits_bias</c> and position tables) as read.
    /// </summary>
    public void SaveWeights(string path)
    {
        var tensors = new List<(string, FloatTensor)>();
        foreach (var p in Parameters) tensors.Add((p.Name, new FloatTensor(p.Shape, p.Value)));
        var shared = this[SharedName];
        foreach (var alias in _aliases)
            tensors.Add((alias, new FloatTensor(shared.Shape, shared.Value)));
        foreach (var (name, t) in _fixed)
            tensors.Add((name, t));
        SafeTensorsFile.Write(path, tensors.OrderBy(t => t.Item1, StringComparer.Ordinal), new Dictionary<string, string> { ["format"] = "pt" });
    }
}
