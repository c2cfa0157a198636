using AttnScope.Training.Model.Layers;

namespace AttnScope.Training.Model;

/// <summary>What one training forward/backward pass measured.</summary>
public readonly record struct StepLoss(double Loss, double Nll, int Tokens)
{
    public double MeanLoss => Tokens == 0 ? 0 : Loss / Tokens;
    public double MeanNll => Tokens == 0 ? 0 : Nll / Tokens;
}

/// <summary>
/// The encoder-decoder Transformer: embeddings (optionally one shared table, also used as the output projection),
/// positions, encoder and decoder stacks, and the label-smoothed loss. <see cref="Forward"/> runs a batch with
/// teacher forcing; <see cref="Backward"/> accumulates every parameter's gradient.
/// </summary>
public sealed class Transformer
{
    public TransformerConfig Config { get; }
    public Embedding SourceEmbedding { get; }
    public Embedding TargetEmbedding { get; }
    public PositionalEncoding SourcePositions { get; }
    public PositionalEncoding TargetPositions { get; }
    public Dropout SourceDropout { get; }
    public Dropout TargetDropout { get; }
    public EncoderLayer[] Encoder { get; }
    public DecoderLayer[] Decoder { get; }
    /// <summary>Final norms of the pre-LN arrangement (null for post-LN).</summary>
    public LayerNorm? EncoderNorm { get; }
    public LayerNorm? DecoderNorm { get; }
    public Linear OutputProjection { get; }
    public LabelSmoothedCrossEntropy Loss { get; private set; }
    public IReadOnlyList<Parameter> Parameters { get; }

    private float[] _memory = [];
    private float[] _dMemory = [];
    private float[] _logits = [];
    private Batch? _batch;

    public Transformer(TransformerConfig config, float labelSmoothing = 0.1f)
    {
        config.Validate();
        Config = config;
        int d = config.Dim;
        SourceEmbedding = new Embedding(config.SharedEmbeddings ? "embed" : "src_embed", config.VocabSize, d);
        TargetEmbedding = config.SharedEmbeddings ? new Embedding(SourceEmbedding.Table) : new Embedding("tgt_embed", config.VocabSize, d);
        SourcePositions = new PositionalEncoding("src_pos", config.MaxLength, d, config.LearnedPositions);
        TargetPositions = new PositionalEncoding("tgt_pos", config.MaxLength, d, config.LearnedPositions);
        SourceDropout = new Dropout(config.Dropout);
        TargetDropout = new Dropout(config.Dropout);
        Encoder = Enumerable.Range(0, config.EncoderLayers).Select(i => new EncoderLayer($"enc.{i}", config)).ToArray();
        Decoder = Enumerable.Range(0, config.DecoderLayers).Select(i => new DecoderLayer($"dec.{i}", config)).ToArray();
        if (config.PreNorm)
        {
            EncoderNorm = new LayerNorm("enc.norm", d);
            DecoderNorm = new LayerNorm("dec.norm", d);
        }
        OutputProjection = config.SharedEmbeddings
            ? new Linear(TargetEmbedding.Table, null)
            : new Linear("out_proj", d, config.VocabSize, bias: false);
        Loss = new LabelSmoothedCrossEntropy(labelSmoothing, Batch.PadId);

        var all = new List<Parameter>();
        void Add(IEnumerable<Parameter> ps) { foreach (var p in ps) if (!all.Any(q => ReferenceEquals(q, p))) all.Add(p); }
        Add([SourceEmbedding.Table, TargetEmbedding.Table]);
        if (SourcePositions.Table is { } sp) Add([sp]);
        if (TargetPositions.Table is { } tp) Add([tp]);
        foreach (var l in Encoder) Add(l.Parameters());
        if (EncoderNorm is not null) Add(EncoderNorm.Parameters());
        foreach (var l in Decoder) Add(l.Parameters());
        if (DecoderNorm is not null) Add(DecoderNorm.Parameters());
        Add(OutputProjection.Parameters());
        Parameters = all;
        var names = new HashSet<string>();
        foreach (var p in all)
            if (!names.Add(p.Name)) throw new InvalidOperationException($"duplicate parameter name {p.Name}");
    }

    public long ParameterCount => Parameters.Sum(p => (long)p.Length);

    public void SetLabelSmoothing(float smoothing) => Loss = new LabelSmoothedCrossEntropy(smoothing, Batch.PadId);

    /// <summary>Initializes all weights from a seed: Glorot-uniform matrices, N(0, 1/d) embeddings, zero biases, unit gains.</summary>
    public void Initialize(int seed)
    {
        var random = new Random(seed);
        foreach (var p in Parameters)
        {
            if (p.Shape.Length == 2 && !p.NoDecay)
            {
                if (p.Name.Contains("embed")) p.InitNormal(random, 1.0 / Math.Sqrt(Config.Dim));
                else p.InitGlorot(random, p.Shape[1], p.Shape[0]);
            }
            else if (p.Name.EndsWith("_pos.weight", StringComparison.Ordinal)) p.InitNormal(random, 0.5);
            else if (p.Name.Contains("norm") && p.Name.EndsWith(".weight", StringComparison.Ordinal)) p.Fill(1f);
            else p.Fill(0f);
        }
    }

    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>The encoder output [batch·sourceLength, d] for a batch (kept for the decoder).</summary>
    public float[] Encode(Batch batch, ref FastRandom random, bool training)
    {
        int rows = batch.Size * batch.SourceLength;
        var x = SourceEmbedding.Forward(batch.Source, rows);
        SourcePositions.Forward(x, batch.Size, batch.SourceLength);
        x = SourceDropout.Forward(x, rows * Config.Dim, ref random, training);
        foreach (var layer in Encoder) x = layer.Forward(x, batch.Size, batch.SourceLength, batch.SourceLengths, ref random, training);
        return EncoderNorm is null ? x : EncoderNorm.Forward(x, rows);
    }

    /// <summary>Teacher-forced forward of a batch: logits [batch·targetLength, vocab] (owned by the model).</summary>
    public float[] ForwardLogits(Batch batch, ref FastRandom random, bool training)
    {
        _batch = batch;
        _memory = Encode(batch, ref random, training);
        int rows = batch.Size * batch.TargetLength;
        var y = TargetEmbedding.Forward(batch.TargetInput, rows);
        TargetPositions.Forward(y, batch.Size, batch.TargetLength);
        y = TargetDropout.Forward(y, rows * Config.Dim, ref random, training);
        foreach (var layer in Decoder)
            y = layer.Forward(y, batch.Size, batch.TargetLength, batch.TargetLengths, _memory, batch.SourceLength, batch.SourceLengths, ref random, training);
        if (DecoderNorm is not null) y = DecoderNorm.Forward(y, rows);
        _logits = OutputProjection.Forward(y, rows);
        return _logits;
    }

    /// <summary>Forward pass and loss of a batch.</summary>
    public StepLoss Forward(Batch batch, ref FastRandom random, bool training)
    {
        var logits = ForwardLogits(batch, ref random, training);
        var (loss, nll, tokens) = Loss.Forward(logits, batch.Size * batch.TargetLength, Config.VocabSize, batch.TargetOutput);
        return new StepLoss(loss, nll, tokens);
    }

    /// <summary>Backward pass of the last <see cref="Forward"/>: adds d(loss·<paramref name="scale"/>)/dθ to every gradient.</summary>
    public void Backward(float scale)
    {
        if (_batch is null) throw new InvalidOperationException("Backward needs a Forward first");
        BackwardFromLogits(Loss.Backward(scale));
    }

    /// <summary>
    /// Backward pass of the last <see cref="ForwardLogits"/> from a given gradient of any scalar with respect to the
    /// logits [batch·targetLength, vocab] (e.g. of one token's log-probability): adds that scalar's gradient to every
    /// parameter's gradient (and to the attention probabilities' where they are recorded).
    /// </summary>
    public void BackwardFromLogits(float[] dLogits)
    {
        var batch = _batch ?? throw new InvalidOperationException("Backward needs a Forward first");
        var dy = OutputProjection.Backward(dLogits);
        if (DecoderNorm is not null) dy = DecoderNorm.Backward(dy);
        long memoryLength = (long)batch.Size * batch.SourceLength * Config.Dim;
        Buffers.Ensure(ref _dMemory, memoryLength);
        Array.Clear(_dMemory, 0, (int)memoryLength);
        for (int i = Decoder.Length - 1; i >= 0; i--) dy = Decoder[i].Backward(dy, _dMemory);
        dy = TargetDropout.Backward(dy);
        TargetPositions.Backward(dy);
        TargetEmbedding.Backward(dy);

        var dx = EncoderNorm is null ? _dMemory : EncoderNorm.Backward(_dMemory);
        for (int i = Encoder.Length - 1; i >= 0; i--) dx = Encoder[i].Backward(dx);
        dx = SourceDropout.Backward(dx);
        SourcePositions.Backward(dx);
        SourceEmbedding.Backward(dx);
    }

    /// <summary>Multiply-adds of one forward pass over a batch (linear layers, attention, output projection).</summary>
    public static double ForwardFlops(TransformerConfig c, int batch, int sourceLength, int targetLength)
    {
        double d = c.Dim, s = batch * (double)sourceLength, t = batch * (double)targetLength;
        double perEncoder = s * (4 * d * d + 2 * d * c.FeedForward) + 2 * batch * (double)sourceLength * sourceLength * d;
        double perDecoder = t * (4 * d * d + 2 * d * c.FeedForward) + s * 2 * d * d + t * 2 * d * d
            + batch * (double)targetLength * targetLength * d + 2 * batch * (double)targetLength * sourceLength * d;
        double output = t * d * c.VocabSize;
        return 2 * (c.EncoderLayers * perEncoder + c.DecoderLayers * perDecoder + output);
    }
}
