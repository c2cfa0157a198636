using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Corpus;
using AttnScope.Sources;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope corpus --input FILE --out DB [--model M] [--qk-heads L.H,...]</c>: per-head statistics of every
/// sentence of a file in a DuckDB database (resumable); subcommands <c>query</c>, <c>export</c>, <c>plot</c>, <c>view</c>.
/// </summary>
internal static class CorpusCommand
{
    public static Command Create(CliOutput output)
    {
        var model = CaptureCommand.ModelOption();
        model.Description = "an encoder model: minilm (embedded default), a Hugging Face folder, an .onnx file, or hf:ORG/NAME[@revision]";
        var engine = CaptureCommand.EngineOption();
        var input = new Option<string?>("--input", "-i") { Description = "the sentences: plain lines (.txt), TSV (.tsv) or JSON Lines (.jsonl)" };
        var outPath = new Option<string?>("--out", "-o") { Description = "the DuckDB database to write (an existing one is resumed)" };
        var format = new Option<string>("--format") { Description = "auto (from the extension), txt, tsv or jsonl", DefaultValueFactory = _ => "auto" };
        var textColumn = new Option<int>("--text-column") { Description = "TSV: the column of the text (from 1)", DefaultValueFactory = _ => 1 };
        var pairColumn = new Option<int?>("--pair-column") { Description = "TSV: the column of sentence B (from 1)" };
        var header = new Option<bool>("--header") { Description = "TSV: the first line is a header" };
        var textField = new Option<string>("--text-field") { Description = "JSON Lines: the field of the text", DefaultValueFactory = _ => "text" };
        var pairField = new Option<string?>("--pair-field") { Description = "JSON Lines: the field of sentence B" };
        var batch = new Option<int>("--batch") { Description = "sentences per batch (one database transaction each)", DefaultValueFactory = _ => 32 };
        var qkHeads = new Option<string?>("--qk-heads") { Description = "heads whose queries, keys and attention are stored, e.g. 2.5,4.0 (layer.head from 0)" };
        var qkTokens = new Option<int>("--qk-tokens") { Description = "tokens per sentence whose query and key are stored (sampled)", DefaultValueFactory = _ => 8 };
        var limit = new Option<long?>("--limit") { Description = "stop after this many new sentences" };
        var shard = new Option<string?>("--shard") { Description = "run shard I of K (I/K, I from 0): the lines n with (n - 1) mod K = I; merge shards with 'corpus merge'" };
        var parquet = new Option<string?>("--parquet") { Description = "also export every table as Parquet into this folder when done" };
        var cmd = new Command("corpus", "Capture every sentence of a file and store per-head statistics in a DuckDB database (resumable).")
        {
            model, engine, input, outPath, format, textColumn, pairColumn, header, textField, pairField, batch, qkHeads, qkTokens, limit, shard, parquet,
        };
        cmd.Subcommands.Add(CorpusQueryCommand.Create(output));
        cmd.Subcommands.Add(CorpusExportCommand.Create(output));
        cmd.Subcommands.Add(CorpusPlotCommand.Create(output));
        cmd.Subcommands.Add(CorpusViewCommand.Create(output));
        cmd.Subcommands.Add(CorpusMergeCommand.Create(output));
        cmd.SetAction(r => output.Guard(() =>
        {
            var inputPath = r.GetValue(input) ?? throw new AttnScopeException("no input: give --input FILE (or a subcommand: query, export, plot, view)");
            var dbPath = r.GetValue(outPath) ?? throw new AttnScopeException("no database: give --out FILE.duckdb");
            var options = new CorpusRunOptions
            {
                InputPath = inputPath,
                DatabasePath = dbPath,
                Input = new CorpusInputOptions
                {
                    Format = CorpusInputFormats.Parse(r.GetValue(format)!, inputPath),
                    TextColumn = r.GetValue(textColumn), PairColumn = r.GetValue(pairColumn), Header = r.GetValue(header),
                    TextField = r.GetValue(textField)!, PairField = r.GetValue(pairField),
                },
                BatchSize = r.GetValue(batch),
                QkHeads = HeadRef.ParseList(r.GetValue(qkHeads)),
                QkTokens = r.GetValue(qkTokens),
                Limit = r.GetValue(limit),
                Shard = r.GetValue(shard) is { } sh ? ShardSpec.Parse(sh) : ShardSpec.All,
            };
            var files = AttnScope.Sources.Models.ModelResolver.Resolve(r.GetValue(model)!);
            if (DecoderSession.IsDecoder(files))
                throw new AttnScopeException($"corpus runs encoder (BERT-family) models; '{files.Id}' is a decoder");
            using var session = ModelSession.Open(files, CaptureCommand.ParseEngine(r.GetValue(engine)!));
            foreach (var note in session.Notes) output.Note(note);
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                if (cancel.IsCancellationRequested) return; // a second Ctrl-C ends the process
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            CorpusRunResult result;
            try
            {
                result = CorpusProgressDisplay.Run(output, p => CorpusRunner.Run(session, options, p, cancel.Token));
            }
            finally { Console.CancelKeyPress -= onCancel; }
            long stored = result.Skipped + result.Written;
            string rate = result.Elapsed.TotalSeconds > 0 ? $", {result.Written / result.Elapsed.TotalSeconds:F1} sentences/s, {result.Tokens / result.Elapsed.TotalSeconds:F0} tokens/s" : "";
            if (result.Cancelled)
            {
                output.Err.WriteLine($"attnscope: stopped: {stored} of {result.Total} sentences are in {dbPath}; run the same command again to go on");
                return 130;
            }
            output.Out.WriteLine($"wrote {dbPath}: {result.Written} new sentences in {result.Elapsed.TotalSeconds:F1} s{rate}; " +
                $"{stored} of {result.Total} stored" + (result.Skipped > 0 ? $" ({result.Skipped} from an earlier run)" : ""));
            if (r.GetValue(parquet) is { } folder)
            {
                using var db = CorpusDatabase.OpenReadOnly(dbPath);
                foreach (var (path, rows) in CorpusExport.ToParquet(db, folder)) output.Out.WriteLine($"wrote {path} ({rows} rows)");
            }
            return 0;
        }));
        return cmd;
    }
}
