using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Transformer;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope generate --model M --prompt TEXT --max-new N [--temperature T --top-k K --seed S] [--qkv] -o FILE</c>:
/// continues the prompt with a decoder language model (key/value cache), printing the continuation as it comes,
/// and saves the attention of every step as one capture.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(CliOutput output)
    {
        var model = new Option<string>("--model", "-m") { Description = "a decoder model: a Hugging Face folder (GPT-2, Llama, Mistral, Qwen2, SmolLM) or hf:ORG/NAME[@revision]", Required = true };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "the prompt" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "read the prompt from a UTF-8 file ('-' for standard input)" };
        var maxNew = new Option<int>("--max-new", "-n") { Description = "most new tokens", DefaultValueFactory = _ => 20 };
        var temperature = new Option<float>("--temperature") { Description = "0 (default) picks the most likely token; above 0 samples from softmax(logits/T)" };
        var topK = new Option<int>("--top-k") { Description = "sample only from the k most likely tokens (0: all)" };
        var seed = new Option<int>("--seed") { Description = "random seed for sampling", DefaultValueFactory = _ => 0 };
        var noEos = new Option<bool>("--ignore-eos") { Description = "keep generating past the end-of-sequence token" };
        var qkv = new Option<bool>("--qkv") { Description = "also record queries, keys, values and pre-softmax scores" };
        var outPath = new Option<string>("--output", "-o") { Description = "capture file to write (.safetensors)", Required = true };
        var cmd = new Command("generate", "Continue a prompt with a decoder language model and save the attention of every generation step.")
        {
            model, prompt, promptFile, maxNew, temperature, topK, seed, noEos, qkv, outPath,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var text = TextInput.Read(r.GetValue(prompt), r.GetValue(promptFile), "--prompt", required: true)!;
            int n = r.GetValue(maxNew);
            if (n < 1 || n > 100_000) throw new AttnScopeException($"--max-new {n} must be between 1 and 100000");
            var path = r.GetValue(outPath)!;
            var files = AttnScope.Sources.Models.ModelResolver.Resolve(r.GetValue(model)!);
            if (!DecoderSession.IsDecoder(files))
                throw new AttnScopeException($"'{files.Id}' is not a decoder language model (generate runs GPT-2, Llama, Mistral and Qwen2 families)");
            var session = DecoderSession.Open(files);
            var sampling = new SamplingOptions
            {
                Temperature = r.GetValue(temperature), TopK = r.GetValue(topK), Seed = r.GetValue(seed), StopAtEos = !r.GetValue(noEos),
            };
            var (cap, continuation, result) = session.Generate(text, n, sampling, r.GetValue(qkv));
            foreach (var w in cap.Metadata.Warnings) output.Warn(w);
            cap.Save(path);
            output.Out.WriteLine($"{TokenText.Printable(text, 200)}⟨{TokenText.Printable(continuation, 2000)}⟩");
            output.Out.WriteLine($"wrote {path}: {result.PromptLength} prompt + {result.NewTokens} new tokens ({sampling.Describe()}, stopped: {result.StopReason}), " +
                                 $"decoder.attention {cap.Stacks[AttentionStack.Decoder].Attention.ShapeText}");
            return 0;
        }));
        return cmd;
    }
}
