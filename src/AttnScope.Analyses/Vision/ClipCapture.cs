using System.Globalization;
using System.Text.Json.Nodes;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Vision;

namespace AttnScope.Analyses.Vision;

/// <summary>
/// An image and a text through CLIP into one capture. The <c>encoder</c> stack is the vision tower over
/// <see cref="AttentionCapture.Tokens"/> ([CLS], patches: the usual <c>vision.*</c> layout); the <c>decoder</c> stack is the
/// causal text tower over <see cref="AttentionCapture.TargetTokens"/>. Analyses: <c>vision.image</c>,
/// <c>clip.text_relevance</c> [text tokens] (Chefer et al.'s R, EOS row), <c>clip.image_relevance</c> [rows, cols]
/// (R, [CLS] row, patches), <c>clip.word_relevance</c> [words, rows, cols]: for each word token w, the image relevance
/// of the similarity between the image and the text made of w alone (&lt;|startoftext|&gt; w &lt;|endoftext|&gt;) —
/// CLIP's towers never attend to each other, so "which patches go with this word" is asked of the model as that
/// one-word text's similarity. Metadata <c>clip.similarity</c> and <c>clip.word_similarity</c>.
/// </summary>
internal static class ClipCapture
{
    public const string TextRelevance = "clip.text_relevance", ImageRelevance = "clip.image_relevance", WordRelevance = "clip.word_relevance";
    /// <summary>Words beyond this many get no per-word map (each is one more pass of both towers).</summary>
    public const int MaxWords = 32;

    public static AttentionCapture Capture(ClipModel model, ClipTokenizer tokenizer, RgbImage image, string imagePath, string text, string modelId)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("--text is empty: CLIP compares the image with a text");
        if (tokenizer.VocabSize > model.Text.Spec.Vocab) throw new AttnScopeException($"the tokenizer has {tokenizer.VocabSize} ids but the text model {model.Text.Spec.Vocab}");
        var (ids, _) = tokenizer.Encode(text, model.Text.Spec.MaxPositions);
        var prepared = model.Preprocessor.Prepare(image);
        var pixels = model.Preprocessor.Pixels(image);
        var rel = ClipRelevance.Compute(model, pixels, ids);
        var pass = model.Run(pixels, ids);
        var cfg = model.Config;
        int g = cfg.Grid;
        var imageTokens = model.ImageTokenNames().Select((n, i) => new CaptureToken(n, i, -1, -1, Segment.A, IsSpecial: i == 0)).ToList();
        var textTokens = ids.Select((id, i) => new CaptureToken(tokenizer.Readable(id), id, -1, -1, Segment.A, IsSpecial: id == tokenizer.BosId || id == tokenizer.EosId)).ToList();
        var words = Enumerable.Range(0, ids.Length).Where(i => !textTokens[i].IsSpecial).Take(MaxWords).ToList();
        var wordMaps = new float[Math.Max(1, words.Count) * g * g];
        var wordSims = new JsonArray();
        for (int k = 0; k < words.Count; k++)
        {
            var r = ClipRelevance.Compute(model, pixels, [tokenizer.BosId, ids[words[k]], tokenizer.EosId]);
            r.Image.Values.CopyTo(wordMaps, k * g * g);
            wordSims.Add(r.Similarity);
        }
        var extra = new Dictionary<string, string>
        {
            ["vision.grid_rows"] = g.ToString(CultureInfo.InvariantCulture),
            ["vision.grid_cols"] = g.ToString(CultureInfo.InvariantCulture),
            ["vision.special_tokens"] = "1",
            ["vision.patch_size"] = cfg.PatchSize.ToString(CultureInfo.InvariantCulture),
            ["vision.image_path"] = imagePath,
            ["vision.image_width"] = image.Width.ToString(CultureInfo.InvariantCulture),
            ["vision.image_height"] = image.Height.ToString(CultureInfo.InvariantCulture),
            ["vision.input_size"] = $"{prepared.Width}x{prepared.Height}",
            ["clip.similarity"] = pass.Similarity.ToString("R", CultureInfo.InvariantCulture),
            ["clip.eos_index"] = pass.EosIndex.ToString(CultureInfo.InvariantCulture),
        };
        var imageTensor = new FloatTensor([prepared.Height, prepared.Width, 3], prepared.Pixels.Select(b => (float)b).ToArray());
        var meta = new CaptureMetadata
        {
            ModelId = modelId, Architecture = "clip", Source = "managed", Texts = [imagePath, text], Extra = extra,
        };
        var rule = "Chefer et al. 2021: R = I + sum over layers of mean_heads(clamp(dS/dA * A, min 0)) R, S = exp(logit_scale) cos(image_embeds, text_embeds)";
        var analyses = new List<CaptureAnalysis>
        {
            new(VisionLayout.ImageAnalysis, imageTensor, new JsonObject { ["what"] = "the model's view of the image after resize and crop, RGB 0…255", ["source"] = imagePath }),
            new(TextRelevance, new FloatTensor([ids.Length], rel.Text), new JsonObject { ["what"] = "relevance of each text token for the similarity (R's EOS row, text tower)", ["rule"] = rule }),
            new(ImageRelevance, new FloatTensor([g, g], rel.Image.Values), new JsonObject { ["what"] = "relevance of each patch for the similarity (R's [CLS] row, vision tower)", ["rule"] = rule }),
        };
        if (words.Count > 0)
            analyses.Add(new(WordRelevance, new FloatTensor([words.Count, g, g], wordMaps), new JsonObject
            {
                ["what"] = "for each word token w, the patch relevance of the similarity between the image and the text '<|startoftext|> w <|endoftext|>'",
                ["tokens"] = new JsonArray(words.Select(i => (JsonNode)i).ToArray()),
                ["similarity"] = wordSims,
                ["rule"] = rule,
            }));
        return new AttentionCapture(meta, imageTokens,
            [new AttentionStack(AttentionStack.Encoder, pass.Image.Attention!), new AttentionStack(AttentionStack.Decoder, pass.Text.Attention!)],
            targetTokens: textTokens, analyses: analyses);
    }
}
