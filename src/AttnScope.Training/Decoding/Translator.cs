using AttnScope.Capture;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Training.Decoding;

/// <summary>A translation: the text, the target ids (no BOS/EOS), the encoded source, and notes (e.g. truncation).</summary>
internal sealed record Translation(string Source, string Text, int[] TargetIds, EncodedText EncodedSource, int[] SourceIds, IReadOnlyList<string> Warnings)
{
    /// <summary>With memory reranking: the memory entry whose translation this is, when one beat the model's own.</summary>
    public MemoryChoice? FromMemory { get; init; }
}

/// <summary>A trained model with its vocabulary: translates text and captures the attention of a translation.</summary>
internal sealed class Translator
{
    public Transformer Model { get; }
    public SubwordVocabulary Vocabulary { get; }
    public string ModelId { get; }
    /// <summary>The run's translation memory when it was trained with fuzzy repair: every source is then followed by
    /// the separator and the translation of its best match (<see cref="FuzzyMemory.Augment"/>).</summary>
    public FuzzyMemory? Memory { get; init; }

    public Translator(Transformer model, SubwordVocabulary vocabulary, string modelId)
    {
        Model = model;
        Vocabulary = vocabulary;
        ModelId = modelId;
    }

    /// <summary>Memory reranking: translations of the most similar memory pairs compete with the model's own
    /// (<see cref="MemoryCandidates"/>); null: the model's beam-search translation as it is.</summary>
    public MemoryCandidates? Candidates { get; init; }

    /// <summary>The weights file the model was loaded from.</summary>
    public string? WeightsPath { get; init; }

    /// <summary>Loads a run folder's config, tokenizer and its weights: the given checkpoint, else the run's averaged
    /// weights when a run with --average made them from its newest checkpoint, else the newest checkpoint
    /// (<see cref="RunFolder.ModelWeights"/>).</summary>
    public static Translator Open(string runFolder, string? checkpoint = null, MemoryCandidates? candidates = null)
    {
        var run = RunFolder.Open(runFolder);
        var vocab = run.LoadVocabulary();
        var model = new Transformer(run.Config.Model);
        var weights = checkpoint ?? run.ModelWeights();
        Checkpoint.Load(weights, model, optimizer: null);
        var memory = run.Config.Fuzzy is { } fuzzy ? FuzzyMemory.Load(run.Path, fuzzy) : null;
        if (memory is not null) FuzzyMemory.SeparatorId(vocab); // a clear error now for a vocabulary without the separator
        return new Translator(model, vocab, runFolder) { Memory = memory, WeightsPath = weights, Candidates = candidates };
    }

    /// <summary>Source ids for a text: its pieces plus EOS, truncated to the model's maximum length (with a warning).</summary>
    /// <remarks>With a translation memory the ids (and the encoded text, whose extra pieces have no word index and no
    /// offsets in the source text) go on with the separator and the best match's translation; the match is named in
    /// the warnings' place only when it was cut.</remarks>
    public (EncodedText Encoded, int[] Ids, List<string> Warnings) EncodeSource(string text)
    {
        var warnings = new List<string>();
        var enc = Vocabulary.Encode(text);
        int max = Model.Config.MaxLength - 1;
        if (enc.Ids.Length > max)
        {
            warnings.Add($"the input has {enc.Ids.Length} pieces; only the first {max} were translated (the model's maximum length is {Model.Config.MaxLength})");
            enc = new EncodedText(enc.Ids[..max], enc.WordIndex[..max], enc.Offsets[..max], enc.Pieces[..max]);
        }
        if (Memory is not null && Memory.Find(text) is { } match)
        {
            var ids = Memory.Augment(Vocabulary, enc.Ids, match, max, out int kept);
            int extra = ids.Length - enc.Ids.Length;
            if (extra > 0)
            {
                var matchPieces = Vocabulary.Encode(match.Target);
                enc = new EncodedText(ids,
                    [.. enc.WordIndex, .. Enumerable.Repeat(-1, extra)],
                    [.. enc.Offsets, .. Enumerable.Repeat((-1, -1), extra)],
                    [.. enc.Pieces, FuzzyMemory.Separator, .. matchPieces.Pieces.Take(kept)]);
            }
        }
        return (enc, [.. enc.Ids, SubwordVocabulary.EosId], warnings);
    }

    /// <summary>The memory's match for a source (null without a memory or a match good enough).</summary>
    public FuzzyMatch? MatchOf(string text) => Memory?.Find(text);

    public int MaxSteps(int sourceLength) => Math.Min(Model.Config.MaxLength, 2 * sourceLength + 10);

    public Translation Translate(string text, int beam = 1)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AttnScopeException("the text to translate is empty");
        var (enc, ids, warnings) = EncodeSource(text);
        var hyp = beam <= 1
            ? Search.Greedy(Model, ids, SubwordVocabulary.BosId, SubwordVocabulary.EosId, MaxSteps(ids.Length))
            : Search.Beam(Model, ids, SubwordVocabulary.BosId, SubwordVocabulary.EosId, MaxSteps(ids.Length), beam);
        if (Candidates is not null && ChooseFromMemory(text, ids, hyp) is { } chosen)
            return new Translation(text, Candidates.Pairs[chosen.Choice.Index].Target, chosen.Ids, enc, ids, warnings) { FromMemory = chosen.Choice };
        if (!hyp.Finished) warnings.Add("the translation reached the length limit before an end-of-sentence token");
        return new Translation(text, Vocabulary.Decode(hyp.Ids), hyp.Ids, enc, ids, warnings);
    }

    /// <summary>
    /// Memory reranking: scores the translations of the sentence's most similar memory pairs with the model and
    /// returns the best when its length-normalized log-probability beats the model's own translation (a translation that
    /// never ended loses to any that does). Candidates longer than the decoder may go for this source, or the same
    /// pieces as the model's, are left out; ties go to the model's own, then to the more similar pair.
    /// </summary>
    private (MemoryChoice Choice, int[] Ids)? ChooseFromMemory(string text, int[] sourceIds, Hypothesis own)
    {
        int steps = MaxSteps(sourceIds.Length);
        var targets = new List<int[]>();
        var matches = new List<(int Index, float Cosine)>();
        foreach (var (index, cosine) in Candidates!.For(text))
        {
            var target = Vocabulary.Encode(Candidates.Pairs[index].Target).Ids;
            if (target.Length + 1 > steps || target.AsSpan().SequenceEqual(own.Ids)) continue;
            if (targets.Any(t => t.AsSpan().SequenceEqual(target))) continue;
            targets.Add(target);
            matches.Add((index, cosine));
        }
        if (targets.Count == 0) return null;
        var scores = Search.Score(Model, sourceIds, targets, SubwordVocabulary.BosId, SubwordVocabulary.EosId, steps);
        double ownScore = own.Finished ? Search.Normalized(own.LogProbability, own.Ids.Length) : double.NegativeInfinity;
        int best = -1;
        double bestScore = ownScore;
        for (int i = 0; i < targets.Count; i++)
        {
            double normalized = Search.Normalized(scores[i], targets[i].Length);
            if (normalized > bestScore) { best = i; bestScore = normalized; }
        }
        if (best < 0) return null;
        var (idx, cos) = matches[best];
        return (new MemoryChoice(idx, Candidates.Pairs[idx].Source, cos, bestScore, ownScore), targets[best]);
    }

    /// <summary>Attention while the model is made to produce a given reference translation (teacher forcing):
    /// the probe captured at every checkpoint, so frames across training share their axes.</summary>
    public AttentionCapture CaptureReference(string source, string reference)
    {
        var (enc, ids, warnings) = EncodeSource(source);
        var target = Vocabulary.Encode(reference).Ids;
        if (target.Length > Model.Config.MaxLength - 1) target = target[..(Model.Config.MaxLength - 1)];
        return Capture(new Translation(source, reference, target, enc, ids, warnings));
    }

    /// <summary>
    /// Attention of the model while producing <paramref name="t"/>: the decoder re-reads BOS and the produced
    /// pieces with teacher forcing (the same numbers the step-by-step decoding computed, since the decoder is
    /// causal). Stacks encoder [L,H,S,S], decoder [L,H,T,T] and cross [L,H,T,S]; Tokens are the source pieces
    /// plus EOS, TargetTokens are the decoder inputs: BOS and the produced pieces, so row t of decoder and cross
    /// is the step that produced target piece t+1 (or EOS).
    /// </summary>
    public AttentionCapture Capture(Translation t)
    {
        var (enc, dec, cross) = AttentionRecorder.Record(Model, t.SourceIds, t.TargetIds);
        var tokens = new List<CaptureToken>();
        int sep = Memory is not null ? Vocabulary.IdOf(FuzzyMemory.Separator) : -1;
        bool inMatch = false;
        for (int i = 0; i < t.EncodedSource.Ids.Length; i++)
        {
            var (start, end) = t.EncodedSource.Offsets[i];
            // a fuzzy match is the second segment of the source side: the separator (special) and its translation's pieces
            bool isSep = t.EncodedSource.Ids[i] == sep && t.EncodedSource.WordIndex[i] < 0;
            inMatch |= isSep;
            tokens.Add(new CaptureToken(t.EncodedSource.Pieces[i], t.EncodedSource.Ids[i], start, end, inMatch ? Segment.B : Segment.A, isSep));
        }
        tokens.Add(Special(SubwordVocabulary.EosId, inMatch ? Segment.B : Segment.A));
        var target = new List<CaptureToken> { Special(SubwordVocabulary.BosId, Segment.B) };
        // Offsets into the translation text where re-encoding it gives back the produced pieces.
        var again = Vocabulary.Encode(t.Text);
        bool same = again.Ids.AsSpan().SequenceEqual(t.TargetIds);
        for (int i = 0; i < t.TargetIds.Length; i++)
        {
            var (start, end) = same ? again.Offsets[i] : (-1, -1);
            target.Add(new CaptureToken(Vocabulary.PieceText(t.TargetIds[i]), t.TargetIds[i], start, end, Segment.B, false));
        }
        var extra = new Dictionary<string, string>
        {
            ["translation"] = t.Text,
            ["target_rows"] = "decoder inputs: row t produced target piece t+1 (the last row produced the end of sentence)",
        };
        if (inMatch && MatchOf(t.Source) is { } m)
        {
            extra["fuzzy_match_source"] = m.Source;
            extra["fuzzy_match_target"] = m.Target;
            extra["fuzzy_match_score"] = m.Score.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
            extra["source_segments"] = "A: the source; B: the separator and the translation of the most similar training source (fuzzy repair)";
        }
        if (t.FromMemory is { } chosen)
        {
            extra["memory_source"] = chosen.Source;
            extra["memory_similarity"] = chosen.Cosine.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
            extra["memory_reranking"] = "the translation is a memory pair's, which the model scored above its own beam-search translation; the attention is the model's while reading it";
        }
        var meta = new CaptureMetadata
        {
            ModelId = ModelId,
            Architecture = "encoder-decoder",
            Source = "managed",
            Texts = [t.Source, t.Text],
            Warnings = t.Warnings,
            Extra = extra,
        };
        return new AttentionCapture(meta, tokens,
            [new AttentionStack(AttentionStack.Encoder, enc), new AttentionStack(AttentionStack.Decoder, dec), new AttentionStack(AttentionStack.Cross, cross)],
            target);
    }

    private CaptureToken Special(int id, Segment segment) => new(Vocabulary.PieceText(id), id, -1, -1, segment, true);
}
