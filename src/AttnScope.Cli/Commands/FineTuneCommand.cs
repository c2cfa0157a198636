using AttnScope.Capture;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.FineTuning;
using AttnScope.Training.Training;

namespace AttnScope.Cli;

/// <summary><c>attnscope train --init MARIAN_OR_T5_DIR|hf:ID --corpus … --out DIR</c>: fine-tunes a Marian or T5 model
/// (<see cref="FineTune"/>); <c>train --out DIR --resume</c> on such a folder continues it. Ctrl-C and SIGTERM
/// stop it cleanly (the weights, optimizer state and finetune.json are saved).</summary>
internal static class FineTuneCommand
{
    public static int Run(CliOutput output, string? init, string corpus, string src, string tgt, string outPath, bool resume, string? prefix, long steps, double minutes,
        bool evaluate, float? dropout, DataOptions data, TrainingOptions options)
    {
        if (resume && init is not null) throw new AttnScopeException("--resume continues the fine-tuning saved in --out: leave out --init");
        if (!resume && steps == 0 && minutes == 0) minutes = TrainingDefaults.Minutes;
        if (dropout is < 0f or >= 1f) throw new AttnScopeException($"--dropout {dropout} is not in [0, 1)");
        var request = new FineTuneRequest
        {
            Init = init is null ? "" : Seq2SeqTranslator.ResolveFolder(init),
            InitName = init ?? "",
            Corpus = corpus, SourceLanguage = src, TargetLanguage = tgt, Out = outPath, Resume = resume, SourcePrefix = prefix,
            Steps = steps, Minutes = minutes, Evaluate = evaluate, Dropout = dropout, Data = data, Options = options,
        };
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            cancel.Cancel();
        });
        try
        {
            var outcome = FineTune.Run(request, output.Out, cancel.Token);
            if (outcome.Cancelled) output.Out.WriteLine($"resume with: attnscope train --out {outPath} --resume");
            return outcome.Cancelled ? 130 : 0;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
