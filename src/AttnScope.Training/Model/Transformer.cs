using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;

namespace AttnScope.Training.Model;

/// <summary>What one training forward/backward pass measured.</summary>
internal readonly record struct StepLoss(double Loss, double Nll, int Tokens)
{
    public double MeanLoss => Tokens == 0 ? 0 : Loss / Tokens;
    public double MeanNll => Tokens == 0 ? 0 : Nll / Tokens;
}

/// <summary>
/// The encoder-decoder translation model of <c>attnscope train</c>, on the one Transformer core: its trainable
/// <see cref="Parameters"/> under the checkpoint names of <see cref="TranslationFamily"/>, viewed as the core's
/// tensors of an encoder stack and a decoder stack (cross-attention), and the label-smoothed loss.
/// <see cref="Forward"/> runs a batch with teacher forcing as packed sequences (every sentence at its own length,
/// the projections and MLPs one product over all rows); <see cref="Backward"/> runs the core's backward pass
/// through the decoder, hands ∂loss/∂memory to the encoder's, and accumulates every parameter's gradient.
/// Dropout (embeddings and every sub-layer output) is drawn from the step's random source in training mode.
/// </summary>
internal sealed class Transformer
{
    public TransformerConfig Config { get; }
    public TransformerSpec EncoderSpec { get; }
    public TransformerSpec DecoderSpec { get; }
    public LabelSmoothedCrossEntropy Loss { get; private set; }
    /// <summary>Every trainable tensor, in checkpoint order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }
    /// <summary>The core's views of the parameters' values and gradients.</summary>
    public CoreTensors EncoderTensors { get; }
    public CoreTensors DecoderTensors { get; }
    private readonly CoreGradients _encoderGrads, _decoderGrads;

    private TransformerModel? _encoder, _decoder;
    private long _packedVersion = -1;
    private CoreTape? _encoderTape, _decoderTape;
    private int _rows;

    public Transformer(TransformerConfig config, float labelSmoothing = 0.1f)
    {
        config.Validate();
        Config = config;
        EncoderSpec = TranslationFamily.Spec(config, decoder: false);
        DecoderSpec = TranslationFamily.Spec(config, decoder: true);
        var parameters = TranslationFamily.WeightNames(config).Select(w => new Parameter(w.Name, w.Shape, w.NoDecay)).ToList();
        Parameters = parameters;
        var byName = parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        (EncoderTensors, DecoderTensors) = TranslationFamily.Map(config, n => byName[n].Value);
        var (encGrads, decGrads) = TranslationFamily.Map(config, n => byName[n].Grad);
        _encoderGrads = new CoreGradients { Values = EncoderTensors, Grads = encGrads };
        _decoderGrads = new CoreGradients { Values = DecoderTensors, Grads = decGrads };
        Loss = new LabelSmoothedCrossEntropy(labelSmoothing, Batch.PadId);
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

    /// <summary>The encoder stack over the current values (re-packed after the parameters change).</summary>
    public TransformerModel EncoderModel { get { Refresh(); return _encoder!; } }
    /// <summary>The decoder stack (causal self-attention, cross-attention, the language-model head).</summary>
    public TransformerModel DecoderModel { get { Refresh(); return _decoder!; } }

    private void Refresh()
    {
        long version = 0;
        foreach (var p in Parameters) version += p.Version;
        if (version == _packedVersion && _encoder is not null) return;
        if (_encoder is null)
        {
            _encoder = new TransformerModel(EncoderSpec, EncoderTensors, "translation encoder");
            _decoder = new TransformerModel(DecoderSpec, DecoderTensors, "translation decoder");
        }
        else
        {
            // the same models (and their workspaces), re-packed from the changed values
            _encoder.Repack();
            _decoder!.Repack();
        }
        _packedVersion = version;
    }

    /// <summary>The current weights as an inference model of the core (encoder, decoder, BOS as the start token).</summary>
    public EncoderDecoderModel AsEncoderDecoder() => new()
    {
        Encoder = EncoderModel, Decoder = DecoderModel, DecoderStartId = DecoderSpec.BosId!.Value, EosId = DecoderSpec.EosId,
    };

    /// <summary>
    /// Teacher-forced forward of a batch as packed sequences: logits [Σ target lengths, vocab], example after
    /// example (each example's rows are its decoder inputs BOS·y). Keeps what <see cref="Backward"/> needs.
    /// </summary>
    public float[] ForwardLogits(Batch batch, ref FastRandom random, bool training)
    {
        int n = batch.Size;
        var (src, srcLens, tgt, tgtLens) = batch.Packed();
        float rate = training ? Config.Dropout : 0f;
        ulong encoderSeed = random.NextUInt64(), decoderSeed = random.NextUInt64();
        var encoded = EncoderModel.Forward(new ForwardInput { Ids = src, Segments = srcLens, Record = true, Dropout = rate, DropoutSeed = encoderSeed, Reuse = _encoderTape });
        var decoded = DecoderModel.Forward(new ForwardInput
        {
            Ids = tgt, Segments = tgtLens, Memory = encoded.Hidden, MemorySegments = srcLens, Logits = LogitRows.All, Record = true,
            Dropout = rate, DropoutSeed = decoderSeed, Reuse = _decoderTape, // the last step's arrays, overwritten
        });
        _encoderTape = encoded.Tape;
        _decoderTape = decoded.Tape;
        _rows = tgt.Length;
        return decoded.Logits!.Data;
    }

    /// <summary>The targets of a batch in the packed order of <see cref="ForwardLogits"/>: y·EOS per example.</summary>
    public static int[] PackedTargets(Batch batch)
    {
        var r = new int[batch.TargetLengths.AsSpan(0, batch.Size).ToArray().Sum()];
        for (int b = 0, t = 0; b < batch.Size; t += batch.TargetLengths[b], b++)
            batch.TargetOutput.AsSpan(b * batch.TargetLength, batch.TargetLengths[b]).CopyTo(r.AsSpan(t));
        return r;
    }

    /// <summary>Forward pass and loss of a batch.</summary>
    public StepLoss Forward(Batch batch, ref FastRandom random, bool training)
    {
        var logits = ForwardLogits(batch, ref random, training);
        var (loss, nll, tokens) = Loss.Forward(logits, _rows, Config.VocabSize, PackedTargets(batch));
        return new StepLoss(loss, nll, tokens);
    }

    /// <summary>Backward pass of the last <see cref="Forward"/>: adds d(loss·<paramref name="scale"/>)/dθ to every gradient.</summary>
    public void Backward(float scale)
    {
        if (_decoderTape is null) throw new InvalidOperationException("Backward needs a Forward first");
        BackwardFromLogits(Loss.Backward(scale));
    }

    /// <summary>
    /// Backward pass of the last <see cref="ForwardLogits"/> from a gradient of any scalar with respect to its
    /// logits [Σ target lengths, vocab]: through the decoder (cross-attention included), then the encoder from
    /// ∂/∂memory, adding into every parameter's gradient.
    /// </summary>
    public void BackwardFromLogits(float[] dLogits)
    {
        var decoderTape = _decoderTape ?? throw new InvalidOperationException("Backward needs a Forward first");
        var outputs = new BackwardOutputs();
        _decoder!.BackwardFromLogits(decoderTape, dLogits, _decoderGrads, outputs: outputs);
        _encoder!.Backward(_encoderTape!, outputs.MemoryGradient!, _encoderGrads);
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
