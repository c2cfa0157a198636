using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Sources;

namespace AttnScope.Cli;

/// <summary><c>attnscope capture --model M --text T [--text-pair T2] [--engine managed|onnx] [--qkv] -o FILE</c></summary>
internal static class CaptureCommand
{
    public static Option<string> ModelOption() => new("--model", "-m")
    {
        Description = "minilm (embedded default), a Hugging Face folder (BERT family, Marian, T5, ...), an .onnx file, hf:ORG/NAME[@revision], or a translation run folder (attnscope train)",
        DefaultValueFactory = _ => "minilm",
    };

    public static Option<string> EngineOption() => new("--engine")
    {
        Description = "managed (AttnScope's engine) or onnx (ONNX Runtime)",
        DefaultValueFactory = _ => "managed",
    };

    public static EngineKind ParseEngine(string value) => EngineKindNames.Parse(value);

    public static Command Create(CliOutput output)
    {
        var model = ModelOption();
        var text = new Option<string?>("--text", "-t") { Description = "the input text" };
        var textFile = new Option<string?>("--text-file") { Description = "read the input text from a UTF-8 file ('-' for standard input)" };
        var pair = new Option<string?>("--text-pair") { Description = "a second text (sentence B of a pair)" };
        var pairFile = new Option<string?>("--text-pair-file") { Description = "read the second text from a UTF-8 file" };
        var engine = EngineOption();
        var qkv = new Option<bool>("--qkv") { Description = "also record queries, keys, values and pre-softmax scores" };
        var hook = new Option<string[]>("--hook") { Description = "record a hook point into the capture (TransformerLens names, * matches any run: blocks.*.hook_resid_post); repeatable", AllowMultipleArgumentsPerToken = false };
        var outPath = new Option<string>("--output", "-o") { Description = "capture file to write (.safetensors)", Required = true };
        var image = new Option<string?>("--image") { Description = "an image (PNG, JPEG, WebP) for a vision model (ViT / DeiT folder)" };
        var storage = new Option<string?>("--storage") { Description = "long capture (attnscope.long/1): store the chosen heads' rows as f32, f16 or u8 (8-bit, square-root scale)" };
        var layers = new Option<string?>("--layers") { Description = "long capture: layers whose heads keep full rows, e.g. 0,3 (default all)" };
        var heads = new Option<string?>("--heads") { Description = "long capture: heads that keep full rows, e.g. 1,5 (default all)" };
        var pyramid = new Option<bool>("--pyramid") { Description = "long capture: block maxima and means of every head at power-of-two block sizes (map-style zoom in serve)" };
        var noRows = new Option<bool>("--no-rows") { Description = "long capture: the pyramid only, no full rows" };
        var audio = new Option<string?>("--audio") { Description = "a WAV file for a speech model (Whisper folder): greedy transcription with every step's attention" };
        var maxNew = new Option<int>("--max-new") { Description = "speech: most tokens to produce", DefaultValueFactory = _ => 64 };
        var language = new Option<string>("--language") { Description = "speech: the language token of a multilingual Whisper (en, de, …)", DefaultValueFactory = _ => "en" };
        var cmd = new Command("capture", "Run a model on text (an image, or audio) and save every attention tensor as a capture file.")
        {
            model, text, textFile, pair, pairFile, engine, qkv, hook, outPath, image, storage, layers, heads, pyramid, noRows, audio, maxNew, language,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            if (r.GetValue(audio) is { } audioPath)
                return SpeechCommand.Capture(output, r.GetValue(model)!, audioPath, r.GetValue(outPath)!, r.GetValue(maxNew), r.GetValue(language)!);
            if (Directory.Exists(r.GetValue(model)!) && AttnScope.Sources.Audio.WhisperModel.IsSpeechFolder(r.GetValue(model)!))
                throw new AttnScopeException($"'{r.GetValue(model)}' is a speech model: give --audio FILE.wav");
            if (r.GetValue(image) is { } imagePath)
                return VisionCommand.Capture(output, r.GetValue(model)!, imagePath, r.GetValue(outPath)!, TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: false));
            if (Directory.Exists(r.GetValue(model)!) && (AttnScope.Sources.Vision.VitModel.IsVisionFolder(r.GetValue(model)!) || AttnScope.Sources.Vision.ClipModel.IsClipFolder(r.GetValue(model)!)))
                throw new AttnScopeException($"'{r.GetValue(model)}' is an image model: give --image FILE");
            if (AttnScope.Training.Checkpoints.RunFolder.IsRunFolder(r.GetValue(model)!))
                return TranslationCapture.Run(output, r.GetValue(model)!, TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!, r.GetValue(outPath)!);
            if (IsPretrainedTranslator(r.GetValue(model)!))
                return PretrainedCapture(output, r.GetValue(model)!, TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!, r.GetValue(outPath)!);
            var kind = ParseEngine(r.GetValue(engine)!);
            var files = AttnScope.Sources.Models.ModelResolver.Resolve(r.GetValue(model)!);
            if (r.GetValue(storage) is not null || r.GetValue(layers) is not null || r.GetValue(heads) is not null || r.GetValue(pyramid) || r.GetValue(noRows))
            {
                var options = new AttnScope.Sources.Long.LongCaptureOptions
                {
                    Storage = AttnScope.Capture.Long.AttentionQuantizer.Parse(r.GetValue(storage) ?? "f32"),
                    Layers = AttnScope.Sources.Long.LongCaptureOptions.ParseList(r.GetValue(layers), "--layers"),
                    Heads = AttnScope.Sources.Long.LongCaptureOptions.ParseList(r.GetValue(heads), "--heads"),
                    Pyramid = r.GetValue(pyramid),
                    NoRows = r.GetValue(noRows),
                };
                return LongCapture(output, files, kind, TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!,
                    r.GetValue(pair) ?? r.GetValue(pairFile), r.GetValue(qkv) || (r.GetValue(hook)?.Length ?? 0) > 0, options, r.GetValue(outPath)!);
            }
            if (DecoderSession.IsDecoder(files))
                return DecoderCapture(output, files, kind, TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!,
                    TextInput.Read(r.GetValue(pair), r.GetValue(pairFile), "--text-pair", required: false), r.GetValue(qkv), r.GetValue(outPath)!, r.GetValue(hook) ?? []);
            using var session = ModelSession.Open(files, kind);
            foreach (var note in session.Notes) output.Note(note);
            var input = TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!;
            var second = TextInput.Read(r.GetValue(pair), r.GetValue(pairFile), "--text-pair", required: false);
            var hooks = r.GetValue(hook) ?? [];
            var cap = hooks.Length > 0 ? session.CaptureWithHooks(input, second, r.GetValue(qkv), hooks) : session.Capture(input, second, r.GetValue(qkv));
            foreach (var w in cap.Metadata.Warnings) output.Warn(w);
            var path = r.GetValue(outPath)!;
            cap.Save(path);
            var enc = cap.Stacks[AttentionStack.Encoder];
            output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} tokens, encoder.attention {enc.Attention.ShapeText} ({session.Source.Name} engine)");
            return 0;
        }));
        return cmd;
    }

    /// <summary>A long capture (<c>attnscope.long/1</c>) of a decoder model: rows of chosen heads and/or a pyramid, reduced while computing.</summary>
    private static int LongCapture(CliOutput output, AttnScope.Sources.Models.ModelFiles files, EngineKind kind, string text, string? pair, bool extras,
        AttnScope.Sources.Long.LongCaptureOptions options, string path)
    {
        if (!DecoderSession.IsDecoder(files))
            throw new AttnScopeException($"long captures (--storage, --layers, --heads, --pyramid) run decoder models; '{files.Id}' is not one");
        if (kind != EngineKind.Managed) throw new AttnScopeException("long captures run on the managed engine");
        if (pair is not null) throw new AttnScopeException("--text-pair is not available for long captures");
        if (extras) throw new AttnScopeException("--qkv and --hook are not available for long captures");
        var session = DecoderSession.Open(files);
        var layout = session.CaptureLong(text, options, path);
        output.Out.WriteLine($"wrote {path}: {layout.Tokens} tokens, {layout.Chosen.Count} heads with {AttnScope.Capture.Long.AttentionQuantizer.Name(layout.Storage)} rows" +
            (layout.Blocks.Count > 0 ? $", pyramid blocks {string.Join(",", layout.Blocks)} for {layout.Layers} × {layout.Heads} heads" : "") +
            $" ({new FileInfo(path).Length:N0} bytes)");
        return 0;
    }

    /// <summary>A decoder language model: one causal <c>decoder</c> stack over the text's tokens.</summary>
    private static int DecoderCapture(CliOutput output, AttnScope.Sources.Models.ModelFiles files, EngineKind kind, string text, string? pair, bool qkv, string path, string[] hooks)
    {
        if (kind != EngineKind.Managed) throw new AttnScopeException($"--engine onnx runs BERT-family .onnx models; '{files.Id}' is a decoder, which the managed engine runs");
        if (pair is not null) throw new AttnScopeException("--text-pair is for sentence pairs of encoder models; a decoder takes one text (use attnscope generate for a continuation)");
        var session = DecoderSession.Open(files);
        var cap = session.Capture(text, qkv, hooks);
        foreach (var w in cap.Metadata.Warnings) output.Warn(w);
        cap.Save(path);
        var dec = cap.Stacks[AttentionStack.Decoder];
        output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} tokens, decoder.attention {dec.Attention.ShapeText} ({session.Spec.Family}, managed engine)" +
            (hooks.Length > 0 ? $", {cap.Analyses.Count(a => a.Key.StartsWith(HookCapture.Prefix, StringComparison.Ordinal))} hook tensors" : ""));
        return 0;
    }

    /// <summary>A translation model folder (Marian, T5), or an hf: name whose config.json (fetched alone first) names one.</summary>
    private static bool IsPretrainedTranslator(string name)
    {
        if (!name.StartsWith("hf:", StringComparison.Ordinal))
            return Directory.Exists(name) && AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.IsTranslationModelFolder(name);
        var (repo, rev) = AttnScope.Sources.Models.HubClient.ParseModelName(name);
        var dir = new AttnScope.Sources.Models.HubClient().EnsureAsync(repo, rev, [(["config.json"], true)]).GetAwaiter().GetResult();
        return AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.IsTranslationModelFolder(dir);
    }

    /// <summary><c>capture --model MARIAN|T5 --text ...</c>: translate (beam 4, length penalty 1) and save the encoder, decoder and cross attention.</summary>
    private static int PretrainedCapture(CliOutput output, string name, string text, string path)
    {
        AttnScope.Capture.Io.AtomicFile.CheckWritable(path);
        var translator = AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.Load(AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.ResolveFolder(name));
        var t = translator.Translate(text, beam: 4);
        var cap = translator.Capture(t, name);
        foreach (var w in cap.Metadata.Warnings) output.Warn(w);
        cap.Save(path);
        output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} source and {cap.TargetTokens.Count} target tokens, " +
                             $"encoder.attention {cap.Stack(AttentionStack.Encoder).Attention.ShapeText}, " +
                             $"decoder.attention {cap.Stack(AttentionStack.Decoder).Attention.ShapeText}, " +
                             $"cross.attention {cap.Stack(AttentionStack.Cross).Attention.ShapeText} (translation: {TokenText.Printable(t.Text)})");
        return 0;
    }
}
