using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Sources;

namespace AttnScope.Cli;

/// <summary><c>attnscope capture --model M --text T [--text-pair T2] [--engine managed|onnx] [--qkv] -o FILE</c></summary>
public static class CaptureCommand
{
    public static Option<string> ModelOption() => new("--model", "-m")
    {
        Description = "minilm (embedded default), a Hugging Face folder, an .onnx file, or hf:ORG/NAME[@revision]",
        DefaultValueFactory = _ => "minilm",
    };

    public static Option<string> EngineOption() => new("--engine")
    {
        Description = "managed (AttnScope's engine) or onnx (ONNX Runtime)",
        DefaultValueFactory = _ => "managed",
    };

    public static EngineKind ParseEngine(string value) => value.ToLowerInvariant() switch
    {
        "managed" => EngineKind.Managed,
        "onnx" => EngineKind.Onnx,
        _ => throw new AttnScopeException($"unknown engine '{value}' (expected managed or onnx)"),
    };

    public static Command Create(CliOutput output)
    {
        var model = ModelOption();
        var text = new Option<string>("--text", "-t") { Description = "the input text", Required = true };
        var pair = new Option<string?>("--text-pair") { Description = "a second text (sentence B of a pair)" };
        var engine = EngineOption();
        var qkv = new Option<bool>("--qkv") { Description = "also record queries, keys, values and pre-softmax scores" };
        var outPath = new Option<string>("--output", "-o") { Description = "capture file to write (.safetensors)", Required = true };
        var cmd = new Command("capture", "Run a model on text and save every attention tensor as a capture file.")
        {
            model, text, pair, engine, qkv, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var kind = ParseEngine(r.GetValue(engine)!);
            using var session = ModelSession.Open(r.GetValue(model)!, kind);
            foreach (var note in session.Notes) output.Err.WriteLine($"attnscope: {note}");
            var cap = session.Capture(r.GetValue(text)!, r.GetValue(pair), r.GetValue(qkv));
            foreach (var w in cap.Metadata.Warnings) output.Warn(w);
            var path = r.GetValue(outPath)!;
            cap.Save(path);
            var enc = cap.Stacks[AttentionStack.Encoder];
            output.Out.WriteLine($"wrote {path}: {cap.Tokens.Count} tokens, encoder.attention {enc.Attention.ShapeText} ({session.Source.Name} engine)");
            return 0;
        }));
        return cmd;
    }
}
