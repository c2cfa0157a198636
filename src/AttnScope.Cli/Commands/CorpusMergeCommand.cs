using System.CommandLine;
using AttnScope.Corpus;

namespace AttnScope.Cli;

/// <summary><c>attnscope corpus merge --out DB SHARD.duckdb...</c>: shard databases into one.</summary>
internal static class CorpusMergeCommand
{
    public static Command Create(CliOutput output)
    {
        var shards = new Argument<string[]>("shards") { Description = "shard databases (built with --shard I/K and the same options)", Arity = ArgumentArity.OneOrMore };
        var target = new Option<string>("--out", "-o") { Description = "the merged database (created when absent; lines already in it are skipped)", Required = true };
        var cmd = new Command("merge", "Merge corpus databases of shards into one.") { shards, target };
        cmd.SetAction(r => output.Guard(() =>
        {
            var path = r.GetValue(target)!;
            foreach (var (shard, lines) in CorpusMerge.Merge(path, r.GetValue(shards)!)) output.Out.WriteLine($"merged {shard}: {lines} new sentences");
            output.Out.WriteLine($"wrote {path}");
            return 0;
        }));
        return cmd;
    }
}
