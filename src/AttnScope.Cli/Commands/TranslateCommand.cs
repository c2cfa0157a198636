using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Evaluation;

namespace AttnScope.Cli;

/// <summary><c>attnscope translate RUN --text "..." [--beam 4] [--animate out.gif] [--capture cap.safetensors]</c>, or
/// <c>attnscope translate RUN --input FILE [--output FILE] [--threads N]</c>: every line of a file with the model loaded
/// once and the sentences shared among threads.</summary>
internal static class TranslateCommand
{
    public static Command Create(CliOutput output)
    {
        var run = new Argument<string>("run") { Description = "a run folder made by 'attnscope train', or a Hugging Face translation model: a Marian (opus-mt) or T5 (t5, flan-t5, mt5) folder, or hf:ORG/NAME" };
        var text = new Option<string?>("--text", "-t") { Description = "the sentence to translate" };
        var textFile = new Option<string?>("--text-file") { Description = "read the sentence from a UTF-8 file ('-' for standard input)" };
        var beam = new Option<int>("--beam") { Description = "beam size (1 = greedy)", DefaultValueFactory = _ => 4 };
        var capture = new Option<string?>("--capture") { Description = "save the translation's encoder, decoder and cross attention as a capture (.safetensors)" };
        var animate = new Option<string?>("--animate") { Description = "write the cross attention step by step as the translation is produced, as an animated .gif" };
        var inputFile = new Option<string?>("--input", "-i") { Description = "translate every line of this UTF-8 file ('-' for standard input), one translation per line" };
        var outputFile = new Option<string?>("--output", "-o") { Description = "with --input: write the translations to this file instead of standard output" };
        var threads = new Option<int>("--threads") { Description = "with --input: sentences translated side by side (each thread holds a copy of the model)", DefaultValueFactory = _ => BatchTranslation.DefaultThreads };
        var lengthPenalty = new Option<double?>("--length-penalty") { Description = "Marian and T5 models: beam scores are log p / length^A (default 1; 0 = plain log-probability)" };
        var layer = new Option<int?>("--layer") { Description = "decoder layer for --animate (default: the best-aligned layer of the last evaluation, else the last)" };
        var memory = new MemoryOptions();
        var cmd = new Command("translate", "Translate a sentence with a trained model; optionally capture or animate its attention.")
        {
            run, text, textFile, beam, capture, animate, layer, inputFile, outputFile, threads, lengthPenalty,
        };
        foreach (var option in memory.All) cmd.Options.Add(option);
        cmd.SetAction(r => output.Guard(() =>
        {
            int beamSize = r.GetValue(beam);
            if (beamSize < 1 || beamSize > 64) throw new AttnScopeException($"--beam {beamSize} is out of range (1..64)");
            var name = r.GetValue(run)!;
            if (name.StartsWith("hf:", StringComparison.Ordinal) || AttnScope.Sources.Tokenization.MarianTokenizer.IsMarianFolder(name)
                || AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.IsTranslationModelFolder(name))
            {
                memory.Refuse(r, "is for run folders made by 'attnscope train', not Marian or T5 models");
                return TranslatePretrained(output, name, new PretrainedOptions(
                    r.GetValue(text) is not null || r.GetValue(textFile) is not null ? TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: false) : null,
                    r.GetValue(inputFile), r.GetValue(outputFile), r.GetValue(capture), r.GetValue(animate), r.GetValue(layer), beamSize,
                    r.GetValue(lengthPenalty) ?? 1.0, r.GetValue(threads)));
            }
            if (r.GetValue(lengthPenalty) is not null)
                throw new AttnScopeException("--length-penalty is for Marian and T5 models; a run folder's beam search uses a fixed length penalty of 0.6");
            if (r.GetValue(inputFile) is { } inputPath)
            {
                if (r.GetValue(text) is not null || r.GetValue(textFile) is not null) throw new AttnScopeException("give either --input FILE or --text/--text-file, not both");
                if (r.GetValue(capture) is not null || r.GetValue(animate) is not null) throw new AttnScopeException("--capture and --animate show one sentence; use --text with them, not --input");
                return TranslateFile(output, r.GetValue(run)!, inputPath, r.GetValue(outputFile), beamSize, r.GetValue(threads),
                    () => memory.Load(r, RunFolder.Open(r.GetValue(run)!), output));
            }
            if (r.GetValue(outputFile) is not null) throw new AttnScopeException("--output writes the translations of --input FILE; give --input too");
            var animation = r.GetValue(animate);
            if (animation is not null && !animation.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                throw new AttnScopeException($"cannot write animation '{animation}': only .gif is supported");
            if (r.GetValue(layer) is not null && animation is null)
                throw new AttnScopeException("--layer chooses the decoder layer of --animate; give --animate FILE.gif too");
            // Every output and the animation's layer are checked before any work, so a bad one writes nothing.
            if (r.GetValue(capture) is { } capturePath) AtomicFile.CheckWritable(capturePath);
            if (animation is not null) AtomicFile.CheckWritable(animation);
            var folder = r.GetValue(run)!;
            var translator = Translator.Open(folder, candidates: memory.Load(r, RunFolder.Open(folder), output));
            int decoderLayers = translator.Model.Config.DecoderLayers;
            if (animation is not null && r.GetValue(layer) is { } asked && (uint)asked >= (uint)decoderLayers)
                throw new AttnScopeException($"layer {asked} is out of range: the model has {decoderLayers} decoder layers (0..{decoderLayers - 1})");
            var input = TextInput.Read(r.GetValue(text), r.GetValue(textFile), "--text", required: true)!;
            var t = translator.Translate(input, beamSize);
            foreach (var w in t.Warnings) output.Warn(w);
            if (t.FromMemory is { } m)
                output.Note(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"from the translation memory: the translation of \"{m.Source}\" (similarity {m.Cosine:F2}; model score {m.Score:F3} per piece against {m.ModelScore:F3} for its own)"));
            output.Out.WriteLine(TokenText.Printable(t.Text)); // model output is data: never let it drive the terminal
            if (r.GetValue(capture) is null && animation is null) return 0;
            var cap = translator.Capture(t);
            if (r.GetValue(capture) is { } path)
            {
                cap.Save(path);
                output.Err.WriteLine($"attnscope: wrote {path}: {cap.Tokens.Count} source and {cap.TargetTokens.Count} target tokens, cross.attention {cap.Stack(AttentionStack.Cross).Attention.ShapeText}");
            }
            if (animation is not null)
            {
                int l = r.GetValue(layer) ?? RunFolder.Open(folder).BestAlignmentLayer() ?? decoderLayers - 1;
                var frames = TranslationAnimation.DecodingFrames(cap, l, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))));
                int count = frames.Count;
                TranslationAnimation.Save(animation, frames, delayMs: 900);
                output.Err.WriteLine($"attnscope: wrote {animation}: {count} decoding steps, cross attention of layer {l}");
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>Largest --input file read.</summary>
    public const long MaxInputBytes = 1L << 30;

    private sealed record PretrainedOptions(string? Text, string? Input, string? Output, string? Capture, string? Animate, int? Layer, int Beam,
        double LengthPenalty, int Threads);

    /// <summary>
    /// A Hugging Face Marian (opus-mt) model (a folder or hf:ORG/NAME): beam search with a length penalty, one sentence
    /// (optionally captured or animated) or every line of --input.
    /// </summary>
    private static int TranslatePretrained(CliOutput output, string name, PretrainedOptions o)
    {
        if (double.IsNaN(o.LengthPenalty) || o.LengthPenalty < -10 || o.LengthPenalty > 10)
            throw new AttnScopeException($"--length-penalty {o.LengthPenalty} is out of range (-10..10)");
        if (o.Input is not null)
        {
            if (o.Text is not null) throw new AttnScopeException("give either --input FILE or --text/--text-file, not both");
            if (o.Capture is not null || o.Animate is not null) throw new AttnScopeException("--capture and --animate show one sentence; use --text with them, not --input");
            if (o.Threads < 1 || o.Threads > 256) throw new AttnScopeException($"--threads {o.Threads} is out of range (1..256)");
        }
        else
        {
            if (o.Output is not null) throw new AttnScopeException("--output writes the translations of --input FILE; give --input too");
            if (o.Text is null) throw new AttnScopeException("give --text, --text-file or --input");
        }
        if (o.Animate is not null && !o.Animate.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
            throw new AttnScopeException($"cannot write animation '{o.Animate}': only .gif is supported");
        if (o.Layer is not null && o.Animate is null) throw new AttnScopeException("--layer chooses the decoder layer of --animate; give --animate FILE.gif too");
        foreach (var path in new[] { o.Output, o.Capture, o.Animate }) if (path is not null) AtomicFile.CheckWritable(path);
        var folder = AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.ResolveFolder(name);
        var translator = AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.Load(folder);
        if (o.Input is not null) return TranslatePretrainedFile(output, folder, translator, o);
        int layers = translator.Model.Decoder.Spec.Layers;
        if (o.Layer is int asked && (uint)asked >= (uint)layers)
            throw new AttnScopeException($"layer {asked} is out of range: the model has {layers} decoder layers (0..{layers - 1})");
        var t = translator.Translate(o.Text!, o.Beam, o.LengthPenalty);
        foreach (var w in t.Warnings) output.Warn(w);
        output.Out.WriteLine(TokenText.Printable(t.Text)); // model output is data: never let it drive the terminal
        if (o.Capture is null && o.Animate is null) return 0;
        var cap = translator.Capture(t, name);
        if (o.Capture is { } capPath)
        {
            cap.Save(capPath);
            output.Err.WriteLine($"attnscope: wrote {capPath}: {cap.Tokens.Count} source and {cap.TargetTokens.Count} target tokens, cross.attention {cap.Stack(AttentionStack.Cross).Attention.ShapeText}");
        }
        if (o.Animate is { } gif)
        {
            int l = o.Layer ?? layers - 1;
            var frames = TranslationAnimation.DecodingFrames(cap, l, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))));
            int count = frames.Count;
            TranslationAnimation.Save(gif, frames, delayMs: 900);
            output.Err.WriteLine($"attnscope: wrote {gif}: {count} decoding steps, cross attention of layer {l}");
        }
        return 0;
    }

    private static int TranslatePretrainedFile(CliOutput output, string folder, AttnScope.Sources.Transformer.Families.Seq2SeqTranslator first, PretrainedOptions o)
    {
        var lines = ReadLines(o.Input!);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool firstUsed = false;
        Func<string, (string, IReadOnlyList<string>)> Open()
        {
            var tr = firstUsed ? AttnScope.Sources.Transformer.Families.Seq2SeqTranslator.Load(folder) : first;
            firstUsed = true;
            return text => { var t = tr.Translate(text, o.Beam, o.LengthPenalty); return (t.Text, t.Warnings); };
        }
        var (translations, warnings) = BatchTranslation.TranslateWith(lines, o.Threads, Open);
        double seconds = clock.Elapsed.TotalSeconds;
        foreach (var w in warnings.Take(10)) output.Warn(w);
        if (warnings.Count > 10) output.Warn($"... and {warnings.Count - 10} more warnings");
        WriteTranslations(output, translations, o.Output);
        int workers = Math.Max(1, Math.Min(o.Threads, lines.Count));
        var summary = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"attnscope: translated {lines.Count:N0} lines in {seconds:F1} s ({lines.Count / Math.Max(seconds, 1e-9):F1} sentences/s; {workers} thread(s), {(o.Beam <= 1 ? "greedy" : $"beam {o.Beam}")}, length penalty {o.LengthPenalty})");
        output.Err.WriteLine(summary + (o.Output is null ? "" : $"; wrote {TokenText.Escaped(o.Output)}"));
        return 0;
    }

    private static void WriteTranslations(CliOutput output, IReadOnlyList<string> translations, string? outputPath)
    {
        if (outputPath is not null)
        {
            var text = new System.Text.StringBuilder();
            foreach (var t in translations) text.Append(t.ReplaceLineEndings(" ")).Append('\n');
            AtomicFile.WriteAllBytes(outputPath, new System.Text.UTF8Encoding(false).GetBytes(text.ToString()));
        }
        else
            foreach (var t in translations) output.Out.WriteLine(t.Length == 0 ? "" : TokenText.Printable(t)); // model output is data: never let it drive the terminal
    }

    private static int TranslateFile(CliOutput output, string folder, string inputPath, string? outputPath, int beam, int threads, Func<MemoryCandidates?> memory)
    {
        if (threads < 1 || threads > 256) throw new AttnScopeException($"--threads {threads} is out of range (1..256)");
        if (outputPath is not null) AtomicFile.CheckWritable(outputPath);
        var lines = ReadLines(inputPath);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var candidates = memory();
        var first = Translator.Open(folder, candidates: candidates);
        var (translations, warnings) = BatchTranslation.Translate(lines, beam, threads, () => Translator.Open(folder, candidates: candidates), first);
        double seconds = clock.Elapsed.TotalSeconds;
        foreach (var w in warnings.Take(10)) output.Warn(w);
        if (warnings.Count > 10) output.Warn($"... and {warnings.Count - 10} more warnings");
        if (outputPath is not null)
        {
            var text = new System.Text.StringBuilder();
            foreach (var t in translations) text.Append(t.ReplaceLineEndings(" ")).Append('\n');
            AtomicFile.WriteAllBytes(outputPath, new System.Text.UTF8Encoding(false).GetBytes(text.ToString()));
        }
        else
            foreach (var t in translations) output.Out.WriteLine(t.Length == 0 ? "" : TokenText.Printable(t)); // model output is data: never let it drive the terminal
        int workers = Math.Max(1, Math.Min(threads, lines.Count));
        var summary = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"attnscope: translated {lines.Count:N0} lines in {seconds:F1} s ({lines.Count / Math.Max(seconds, 1e-9):F1} sentences/s; {workers} thread(s), {(beam <= 1 ? "greedy" : $"beam {beam}")})");
        output.Err.WriteLine(summary + (outputPath is null ? "" : $"; wrote {TokenText.Escaped(outputPath)}"));
        return 0;
    }

    /// <summary>The lines of a UTF-8 file (size checked first) or of standard input.</summary>
    private static List<string> ReadLines(string path)
    {
        Stream stream;
        if (path == "-") stream = Console.OpenStandardInput();
        else
        {
            if (!File.Exists(path)) throw new AttnScopeException($"input file not found: '{path}'");
            long size = new FileInfo(path).Length;
            if (size > MaxInputBytes) throw new AttnScopeException($"'{path}' is {size:N0} bytes; at most {MaxInputBytes:N0} are translated in one call (split it)");
            stream = File.OpenRead(path);
        }
        using var reader = new StreamReader(stream, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true));
        var lines = new List<string>();
        long chars = 0;
        try
        {
            while (reader.ReadLine() is { } line)
            {
                chars += line.Length;
                if (chars > MaxInputBytes || lines.Count >= BatchTranslation.MaxSentences)
                    throw new AttnScopeException($"the input holds more than {MaxInputBytes:N0} characters or {BatchTranslation.MaxSentences:N0} lines; split it");
                lines.Add(line);
            }
        }
        catch (System.Text.DecoderFallbackException) { throw new AttnScopeException($"'{path}' is not valid UTF-8 text"); }
        return lines;
    }
}
