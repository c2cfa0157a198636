using System.Globalization;
using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Transformer;
using AttnScope.Sources.Transformer.Families;
using Long = AttnScope.Sources.Long;

namespace AttnScope.Sources;

/// <summary>
/// A decoder language model ready to capture and generate: its files, the core running its family, and its
/// tokenizer. Captures hold one <c>decoder</c> stack over the tokens; a generation's tokens are the prompt
/// (segment A) then the continuation (segment B, offsets into the continuation text), with the prompt length and
/// strategy in the metadata.
/// </summary>
internal sealed class DecoderSession
{
    public ModelFiles Files { get; }
    public TransformerModel Model { get; }
    public ITextEncoder Tokenizer { get; }
    public TransformerSpec Spec => Model.Spec;

    public const string PromptTokensKey = "generation.prompt_tokens";
    public const string StrategyKey = "generation.strategy";
    public const string StopKey = "generation.stop";
    public const string KvHeadsKey = "kv_heads";

    private DecoderSession(ModelFiles files, TransformerModel model, ITextEncoder tokenizer)
    {
        Files = files; Model = model; Tokenizer = tokenizer;
    }

    /// <summary>Whether a model name resolves to a decoder family (its config.json's model_type).</summary>
    public static bool IsDecoder(ModelFiles files) =>
        files.ConfigPath is not null && ModelFamilies.IsDecoder(ModelFamilies.ModelType(files.ConfigPath));

    public static DecoderSession Open(ModelFiles files)
    {
        if (files.ConfigPath is null) throw new AttnScopeException($"model '{files.Id}' has no config.json");
        var (family, spec) = ModelFamilies.ReadDecoder(files.ConfigPath);
        var weights = SafetensorsWeights.Load(files);
        var model = new TransformerModel(spec, family.MapWeights(spec, weights), weights.Origin);
        var tokenizer = TextEncoders.Load(files, spec.MaxPositions);
        if (tokenizer.VocabSize > spec.Vocab)
            throw new AttnScopeException($"the tokenizer has {tokenizer.VocabSize} entries but the model's vocabulary is {spec.Vocab}");
        return new DecoderSession(files, model, tokenizer);
    }

    public static DecoderSession Open(string model, HubClient? hub = null) => Open(ModelResolver.Resolve(model, hub));

    private Dictionary<string, string> Extra()
    {
        var extra = new Dictionary<string, string> { ["config"] = Files.ConfigPath ?? "", ["tokenizer"] = Tokenizer.Kind };
        if (Spec.KvHeads != Spec.Heads) extra[KvHeadsKey] = Spec.KvHeads.ToString(CultureInfo.InvariantCulture);
        if (Spec.SlidingWindow is int w) extra["sliding_window"] = w.ToString(CultureInfo.InvariantCulture);
        return extra;
    }

    /// <summary>Captures one text: every layer's causal attention (and Q/K/V/scores when asked).</summary>
    /// <param name="hooks">Hook point names or patterns (<c>blocks.*.hook_resid_post</c>) to record into the capture.</param>
    public AttentionCapture Capture(string text, bool captureQkv = false, IReadOnlyList<string>? hooks = null)
    {
        var input = Tokenizer.Encode(text);
        var hookSet = HookCapture.For(hooks);
        var r = Model.Forward(new ForwardInput { Ids = input.Ids, CaptureQkv = captureQkv, Hooks = hookSet });
        OutputCheck.Verify(new SequenceAttention { LastHidden = r.Hidden, Attention = r.Attention!, Query = r.Query, Key = r.Key, Value = r.Value, Scores = r.Scores }, Files.Id);
        var stack = new AttentionStack(AttentionStack.Decoder, r.Attention!) { Query = r.Query, Key = r.Key, Value = r.Value, Scores = r.Scores };
        var meta = new CaptureMetadata
        {
            ModelId = Files.Id, Architecture = Spec.Family, Source = "managed", Texts = [text], Warnings = input.Warnings, Extra = Extra(),
        };
        return new AttentionCapture(meta, input.Tokens, [stack], analyses: HookCapture.Analyses(hookSet));
    }

    /// <summary>
    /// Captures one long text into a long capture file (docs/capture-format.md, <c>attnscope.long/1</c>): the core
    /// hands each block of probability rows to the writer, so the [layers, heads, tokens, tokens] stack never exists.
    /// </summary>
    public AttnScope.Capture.Long.LongCaptureLayout CaptureLong(string text, Long.LongCaptureOptions options, string path)
    {
        var input = Tokenizer.Encode(text);
        var layout = options.Layout(AttentionStack.Decoder, Spec.Layers, Spec.Heads, input.Length);
        var meta = new Dictionary<string, string>(Extra(), StringComparer.Ordinal)
        {
            ["model"] = Files.Id, ["architecture"] = Spec.Family, ["source"] = "managed",
            ["texts"] = System.Text.Json.JsonSerializer.Serialize(new[] { text }),
            ["warnings"] = System.Text.Json.JsonSerializer.Serialize(input.Warnings),
            ["tokens"] = AttentionCapture.TokensJson(input.Tokens),
        };
        using var writer = new Long.LongCaptureWriter(path, layout, meta, Spec.Causal);
        Model.Forward(new ForwardInput { Ids = input.Ids, SkipAttention = true, AttentionSink = writer });
        writer.Finish();
        return layout;
    }

    /// <summary>
    /// Generates up to <paramref name="maxNew"/> tokens after the prompt with the key/value cache, recording the
    /// attention of every step; the capture covers prompt and continuation.
    /// </summary>
    public (AttentionCapture Capture, string Continuation, GenerationResult Result) Generate(string prompt, int maxNew,
        SamplingOptions? sampling = null, bool captureQkv = false, Action<string>? onText = null)
    {
        sampling ??= new SamplingOptions();
        var input = Tokenizer.Encode(prompt);
        var warnings = new List<string>(input.Warnings);
        int room = Spec.MaxPositions - input.Length;
        if (maxNew > room)
        {
            warnings.Add($"--max-new {maxNew} cut to {room}: the prompt has {input.Length} tokens and the model takes {Spec.MaxPositions}");
            maxNew = room;
        }
        var decoder = Tokenizer.StartContinuation();
        var newTokens = new List<CaptureToken>();
        var eosId = Spec.EosId ?? Tokenizer.EosId;
        var sample = sampling with { StopAtEos = sampling.StopAtEos && eosId is not null };
        var result = Generator.Generate(Model, input.Ids, maxNew, sample, captureQkv, (_, id) =>
        {
            var before = decoder.Text.Length;
            var t = decoder.Append(id);
            newTokens.Add(t with { Segment = Segment.B });
            if (decoder.Text.Length > before) onText?.Invoke(decoder.Text[before..]);
        }, eosOverride: eosId);
        var continuation = decoder.Finish();
        OutputCheck.Verify(new SequenceAttention { LastHidden = result.LastHidden, Attention = result.Attention,
            Query = result.Query, Key = result.Key, Value = result.Value, Scores = result.Scores }, Files.Id, result.StepLogits);
        var tokens = input.Tokens.Concat(newTokens).ToList();
        var stack = new AttentionStack(AttentionStack.Decoder, result.Attention) { Query = result.Query, Key = result.Key, Value = result.Value, Scores = result.Scores };
        var extra = Extra();
        extra[PromptTokensKey] = input.Length.ToString(CultureInfo.InvariantCulture);
        extra[StrategyKey] = sample.Describe();
        extra[StopKey] = result.StopReason;
        var meta = new CaptureMetadata
        {
            ModelId = Files.Id, Architecture = Spec.Family, Source = "managed", Texts = [prompt, continuation], Warnings = warnings, Extra = extra,
        };
        return (new AttentionCapture(meta, tokens, [stack]), continuation, result);
    }
}
