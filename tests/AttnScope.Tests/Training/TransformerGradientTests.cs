using AttnScope.Training.Model;

namespace AttnScope.Tests.Training;

/// <summary>The whole encoder-decoder's backward against finite differences of its loss (float32 central
/// differences, see <see cref="GradientCheck"/>), in every arrangement the config allows.</summary>
public class TransformerGradientTests
{
    internal static Transformer Tiny(bool preNorm = true, bool shared = true, bool learned = false, float dropout = 0f, int vocab = 11)
    {
        var config = new TransformerConfig
        {
            VocabSize = vocab, Dim = 16, Heads = 2, FeedForward = 24, EncoderLayers = 2, DecoderLayers = 2,
            PreNorm = preNorm, SharedEmbeddings = shared, LearnedPositions = learned, MaxLength = 16, Dropout = dropout,
        };
        var model = new Transformer(config, labelSmoothing: 0.1f);
        model.Initialize(3);
        return model;
    }

    internal static Batch TinyBatch() => Batch.Of(
        [new EncodedPair([5, 6, 7, 3], [8, 9, 4]), new EncodedPair([4, 10, 3], [6, 5, 7, 8, 10])], bosId: 2, eosId: 3);

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(false, true, false)]
    [InlineData(true, false, true)]
    [InlineData(false, false, true)]
    public void WholeModel(bool preNorm, bool shared, bool learned)
    {
        var model = Tiny(preNorm, shared, learned, dropout: 0.2f);
        var batch = TinyBatch();
        double Loss()
        {
            var random = new FastRandom(5);
            return model.Forward(batch, ref random, training: true).Loss;
        }
        model.ZeroGrad();
        Loss();
        model.Backward(1f);
        foreach (var p in model.Parameters)
        {
            if (p.Name.EndsWith(".k.bias", StringComparison.Ordinal)) continue; // gradient is 0 (softmax shift invariance)
            // h = 1e-3: small enough to rarely cross a ReLU kink; samples: a few per tensor keep it fast
            GradientCheck.Check(p.Name, p, Loss, samples: 6, h: 1e-3f);
        }
    }
}
