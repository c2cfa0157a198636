using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Web.Server;

namespace AttnScope.Cli;

/// <summary><c>attnscope serve [--model M] [--captures DIR] [--port N] [--host ADDR --allow-remote] [--max-tokens N]</c>: the interactive viewer.</summary>
internal static class ServeCommand
{
    public static Command Create(CliOutput output)
    {
        var model = CaptureCommand.ModelOption();
        var captures = new Option<string?>("--captures") { Description = "a folder whose .safetensors captures the page may open (only files directly inside it)" };
        var port = new Option<int>("--port", "-p") { Description = "port to listen on (0 picks a free one)", DefaultValueFactory = _ => 8765 };
        var host = new Option<string>("--host") { Description = "address to listen on; anything but loopback needs --allow-remote", DefaultValueFactory = _ => "127.0.0.1" };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "allow listening on a non-loopback address (no authentication: anyone who reaches it can use it)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "most tokens one live capture may have (longer texts are refused before the model runs)", DefaultValueFactory = _ => new ViewerServerOptions().MaxTokens };
        var corpus = new Option<string?>("--corpus") { Description = "a corpus database (attnscope corpus) shown at /corpus: statistic histograms per head and query/key scatters; opened read-only, it must be built with --model" };
        var cmd = new Command("serve", "Serve the interactive attention viewer: type text and see every layer and head, or open saved captures.")
        {
            model, captures, port, host, allowRemote, maxTokens, corpus,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            var modelName = r.GetValue(model)!;
            if (AttnScope.Training.Checkpoints.RunFolder.IsRunFolder(modelName))
                throw new AttnScopeException($"'{modelName}' is a translation run: the viewer captures encoder models live; save a translation with " +
                                             $"'attnscope translate {modelName} --text ... --capture FOLDER/cap.safetensors' and open it with 'serve --captures FOLDER'");
            using var served = r.GetValue(corpus) is { } corpusPath ? new ServedCorpus(corpusPath) : null;
            var options = new ViewerServerOptions
            {
                Corpus = served,
                Model = r.GetValue(model)!,
                CapturesDir = r.GetValue(captures),
                Port = r.GetValue(port),
                Host = r.GetValue(host)!,
                AllowRemote = r.GetValue(allowRemote),
                MaxTokens = r.GetValue(maxTokens) is var t and > 0 ? t : throw new AttnScopeException($"--max-tokens {r.GetValue(maxTokens)} must be at least 1"),
            };
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
            var server = ViewerServer.StartAsync(options, output.Warn).GetAwaiter().GetResult();
            try
            {
                output.Out.WriteLine($"attnscope: serving {options.Model} at {server.Address} (Ctrl+C to stop)");
                if (served is not null) output.Out.WriteLine($"attnscope: corpus {served.Path} at {new Uri(server.Address, "corpus")}");
                server.WaitForShutdownAsync(stop.Token).GetAwaiter().GetResult();
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return 0;
        }));
        return cmd;
    }
}
