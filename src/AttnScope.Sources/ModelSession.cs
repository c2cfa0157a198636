using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Sources;

/// <summary>
/// A model ready to capture: its files, config, tokenizer and one attention source (managed engine or ONNX
/// Runtime). Opening resolves the name (extracting or downloading as needed) and loads everything once.
/// </summary>
internal sealed class ModelSession : IDisposable
{
    public ModelFiles Files { get; }
    public BertConfig Config { get; }
    public WordPieceTextEncoder Tokenizer { get; }
    public IAttentionSource Source { get; }
    /// <summary>What the user should know about how the model was set up (e.g. sizes inferred, not read from a config).</summary>
    public IReadOnlyList<string> Notes { get; }

    private ModelSession(ModelFiles files, BertConfig config, WordPieceTextEncoder tokenizer, IAttentionSource source, IReadOnlyList<string> notes)
    {
        Files = files; Config = config; Tokenizer = tokenizer; Source = source; Notes = notes;
    }

    public static ModelSession Open(string model, EngineKind engine = EngineKind.Managed, HubClient? hub = null) =>
        Open(ModelResolver.Resolve(model, hub), engine);

    /// <summary>Opens a BERT-family model from files already resolved.</summary>
    public static ModelSession Open(ModelFiles files, EngineKind engine)
    {
        var notes = new List<string>();
        var config = LoadConfig(files, notes);
        var tokenizer = LoadTokenizer(files, config);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new AttnScopeException($"the tokenizer has {tokenizer.VocabSize} entries but the model's vocabulary is {config.VocabSize}");
        IAttentionSource source = engine switch
        {
            EngineKind.Managed => SourceFactory.Managed(files, config),
            EngineKind.Onnx => SourceFactory.Onnx(files, config),
            _ => throw new ArgumentOutOfRangeException(nameof(engine)),
        };
        return new ModelSession(files, config, tokenizer, source, notes);
    }

    /// <summary>The model's config: config.json, the built-in one, or inferred from the ONNX graph (with a note saying so).</summary>
    public static BertConfig LoadConfig(ModelFiles files, List<string> notes)
    {
        BertConfig config;
        if (files.ConfigPath is not null)
        {
            config = BertConfig.FromJson(File.ReadAllText(files.ConfigPath), files.ConfigPath);
        }
        else if (files.BuiltInConfig is not null)
        {
            config = files.BuiltInConfig;
        }
        else if (files.OnnxPath is not null)
        {
            config = SourceFactory.InferConfigFromOnnx(files.OnnxPath);
            notes.Add($"config: no config.json, so sizes were inferred from the ONNX graph ({config.NumLayers} layers, {config.NumHeads} heads, hidden {config.HiddenSize})");
        }
        else throw new AttnScopeException($"model '{files.Id}' has no config.json");

        if (files.TokenizerConfigPath is not null)
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(files.TokenizerConfigPath));
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new AttnScopeException($"{files.TokenizerConfigPath} is not a JSON object");
                if (doc.RootElement.TryGetProperty("do_lower_case", out var lc) && lc.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    config = config with { DoLowerCase = lc.GetBoolean() };
            }
            catch (JsonException e)
            {
                throw new AttnScopeException($"{files.TokenizerConfigPath} is not valid JSON: {e.Message}");
            }
        }
        return config;
    }

    private static WordPieceTextEncoder LoadTokenizer(ModelFiles files, BertConfig config)
    {
        // Inputs are cut at the model's maximum, and never past the longest capture AttnScope reads back.
        int maxLength = Math.Min(config.MaxPositions, CaptureLimits.MaxTokens);
        if (files.VocabPath is not null) return WordPieceTextEncoder.FromVocabFile(files.VocabPath, config.DoLowerCase, maxLength, config.VocabSize);
        if (files.TokenizerJsonPath is not null) return WordPieceTextEncoder.FromTokenizerJson(files.TokenizerJsonPath, files.TokenizerConfigPath is null ? null : config.DoLowerCase, maxLength, config.VocabSize);
        throw new AttnScopeException($"model '{files.Id}' has no vocab.txt or tokenizer.json");
    }

    public EncodedInput Encode(string text, string? pair = null) => Tokenizer.Encode(text, pair);

    /// <summary>
    /// Captures one text or pair on the managed engine and records hook points (names or <c>*</c> patterns) into it
    /// as <c>hooks.*</c> analyses.
    /// </summary>
    public AttentionCapture CaptureWithHooks(string text, string? pair, bool captureQkv, IReadOnlyList<string> hooks)
    {
        if (Source is not SourceFactory.ManagedSource managed)
            throw new AttnScopeException("hook points are recorded by the managed engine; use --engine managed");
        var input = Encode(text, pair);
        var hookSet = HookCapture.For(hooks);
        var model = managed.Model;
        var r = model.Forward(new Transformer.ForwardInput { Ids = input.Ids, TypeIds = input.TypeIds, CaptureQkv = captureQkv, Hooks = hookSet });
        var result = new SequenceAttention { LastHidden = r.Hidden, Attention = r.Attention!, Query = r.Query, Key = r.Key, Value = r.Value, Scores = r.Scores };
        OutputCheck.Verify(result, Files.Id);
        var cap = CaptureBuilder.Build(Files.Id, Config.ModelType, Source.Name, input, result, text, pair, new Dictionary<string, string> { ["config"] = Config.Origin });
        return cap.WithAnalyses(HookCapture.Analyses(hookSet));
    }

    /// <summary>Captures one text or sentence pair.</summary>
    public AttentionCapture Capture(string text, string? pair = null, bool captureQkv = false) =>
        CaptureBatch([(text, pair)], captureQkv)[0];

    /// <summary>Captures several inputs in one batch (they may differ in length).</summary>
    public IReadOnlyList<AttentionCapture> CaptureBatch(IReadOnlyList<(string Text, string? Pair)> inputs, bool captureQkv = false)
    {
        var encoded = inputs.Select(i => Encode(i.Text, i.Pair)).ToList();
        var results = Source.Run(encoded, captureQkv);
        foreach (var r in results) OutputCheck.Verify(r, Files.Id);
        var extra = new Dictionary<string, string> { ["config"] = Config.Origin };
        var list = new List<AttentionCapture>(inputs.Count);
        for (int i = 0; i < inputs.Count; i++)
            list.Add(CaptureBuilder.Build(Files.Id, Config.ModelType, Source.Name, encoded[i], results[i], inputs[i].Text, inputs[i].Pair, extra));
        return list;
    }

    public void Dispose() => Source.Dispose();
}
