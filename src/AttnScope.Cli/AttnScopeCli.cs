using System.CommandLine;
using AttnScope.Capture;

namespace AttnScope.Cli;

/// <summary>The <c>attnscope</c> command line: one command per file in Commands/.</summary>
internal static class AttnScopeCli
{
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = new CliOutput(stdout ?? Console.Out, stderr ?? Console.Error);
        var root = new RootCommand("AttnScope: capture and visualise the attention inside Transformer models.");
        root.Subcommands.Add(CaptureCommand.Create(output));
        root.Subcommands.Add(InspectCommand.Create(output));
        root.Subcommands.Add(HeatmapCommand.Create(output));
        root.Subcommands.Add(RenderCommand.Create(output));
        root.Subcommands.Add(DemoCommand.Create(output));
        root.Subcommands.Add(TrainCommand.Create(output));
        root.Subcommands.Add(TranslateCommand.Create(output));
        root.Subcommands.Add(EvaluateCommand.Create(output));
        root.Subcommands.Add(ServeCommand.Create(output));
        root.Subcommands.Add(HtmlCommand.Create(output));
        root.Subcommands.Add(AnalyzeCommand.Create(output));
        root.Subcommands.Add(GenerateCommand.Create(output));
        root.Subcommands.Add(CircuitsCommand.Create(output));
        root.Subcommands.Add(TrainInductionCommand.Create(output));
        root.Subcommands.Add(VisionCommand.Create(output));
        root.Subcommands.Add(SpeechCommand.Create(output));
        root.Subcommands.Add(TrainVitCommand.Create(output));
        root.Subcommands.Add(TrainWhisperCommand.Create(output));
        root.Subcommands.Add(CorpusCommand.Create(output));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per problem and a pointer to the help, instead of the whole help text.
            foreach (var error in parse.Errors) output.Err.WriteLine($"attnscope: error: {TokenText.Escaped(error.Message)}");
            var name = parse.CommandResult.Command == root ? "attnscope" : $"attnscope {parse.CommandResult.Command.Name}";
            output.Err.WriteLine($"attnscope: see '{name} --help'");
            return 1;
        }
        var config = new InvocationConfiguration { Output = output.Out, Error = output.Err, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e)
        {
            return output.Fail(e);
        }
    }
}

/// <summary>
/// Where commands write, and the one place user errors become a single line and an exit code. Errors, warnings and
/// notes often quote text from files or from the user, so they are printed escaped (<see cref="TokenText.Escaped"/>):
/// control characters and escape sequences never reach the terminal raw.
/// </summary>
internal sealed class CliOutput(TextWriter @out, TextWriter err)
{
    public TextWriter Out { get; } = @out;
    public TextWriter Err { get; } = err;

    public void Warn(string message) => Err.WriteLine($"attnscope: warning: {TokenText.Escaped(message)}");

    /// <summary>A note on standard error (how a model was set up, what a corpus held), escaped.</summary>
    public void Note(string message) => Err.WriteLine($"attnscope: {TokenText.Escaped(message)}");

    public int Fail(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerExceptions[0];
        switch (e)
        {
            case AttnScopeException:
                Err.WriteLine($"attnscope: error: {TokenText.Escaped(e.Message)}");
                return 1;
            case UnauthorizedAccessException or IOException or FileNotFoundException or DirectoryNotFoundException:
                Err.WriteLine($"attnscope: error: {TokenText.Escaped(e.Message)}");
                return 1;
            case OperationCanceledException:
                Err.WriteLine("attnscope: cancelled");
                return 130;
            default:
                Err.WriteLine($"attnscope: internal error ({e.GetType().Name}): {TokenText.Escaped(e.Message)}");
                if (Environment.GetEnvironmentVariable("ATTNSCOPE_DEBUG") == "1") Err.WriteLine(e);
                else Err.WriteLine("attnscope: set ATTNSCOPE_DEBUG=1 for details, and please report this");
                return 2;
        }
    }

    /// <summary>Runs a command body, turning exceptions into one line and an exit code.</summary>
    public int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) { return Fail(e); }
    }
}
