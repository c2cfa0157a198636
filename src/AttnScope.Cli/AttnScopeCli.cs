using System.CommandLine;
using AttnScope.Capture;

namespace AttnScope.Cli;

/// <summary>The <c>attnscope</c> command line: one command per file in Commands/.</summary>
internal static class AttnScopeCli
{
    /// <summary>Every command by name, in the order help lists them (the name must be the one its Create gives).</summary>
    internal static readonly (string Name, Func<CliOutput, Command> Create)[] Commands =
    [
        ("capture", CaptureCommand.Create),
        ("inspect", InspectCommand.Create),
        ("heatmap", HeatmapCommand.Create),
        ("render", RenderCommand.Create),
        ("demo", DemoCommand.Create),
        ("train", TrainCommand.Create),
        ("translate", TranslateCommand.Create),
        ("evaluate", EvaluateCommand.Create),
        ("serve", ServeCommand.Create),
        ("html", HtmlCommand.Create),
        ("analyze", AnalyzeCommand.Create),
        ("generate", GenerateCommand.Create),
        ("circuits", CircuitsCommand.Create),
        ("train-induction", TrainInductionCommand.Create),
        ("vision", VisionCommand.Create),
        ("speech", SpeechCommand.Create),
        ("train-vit", TrainVitCommand.Create),
        ("train-whisper", TrainWhisperCommand.Create),
        ("corpus", CorpusCommand.Create),
    ];

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        StartupTrace.Mark("main");
        var output = new CliOutput(stdout ?? Console.Out, stderr ?? Console.Error);
        var root = new RootCommand("AttnScope: capture and visualise the attention inside Transformer models.");
        // Building a command's options costs start-up time (~1 ms each, more before code is compiled); a command line
        // that names a command builds only that one. Anything else (no command, a typo, the root's --help) gets the
        // whole tree, so help and "did you mean" see every command.
        var commands = Commands;
        var named = args.Length > 0 ? Array.FindIndex(commands, c => c.Name == args[0]) : -1;
        if (named >= 0) root.Subcommands.Add(commands[named].Create(output));
        else foreach (var c in commands) root.Subcommands.Add(c.Create(output));
        StartupTrace.Mark("tree built");
        var parse = root.Parse(args);
        StartupTrace.Mark("parsed");
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
            var rc = parse.Invoke(config);
            StartupTrace.Mark("returning");
            return rc;
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
