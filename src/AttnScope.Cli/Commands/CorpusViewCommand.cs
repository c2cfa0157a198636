using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Corpus;
using AttnScope.Web.Offline;

namespace AttnScope.Cli;

/// <summary><c>attnscope corpus view DB --head L.H -o page.html</c>: the query/key scatter of a head as an offline page.</summary>
internal static class CorpusViewCommand
{
    public static Command Create(CliOutput output)
    {
        var db = new Argument<string>("database") { Description = "the corpus database" };
        var head = new Option<string?>("--head") { Description = "the head (LAYER.HEAD) whose queries and keys to show; default: the first stored" };
        var sentences = new Option<int>("--sentences") { Description = "sentences sampled into the view", DefaultValueFactory = _ => 400 };
        var projection = new Option<string>("--projection") { Description = "pca (linear; axes with their share of variance) or tsne (exact t-SNE, seeded; at most 2000 points, whole sentences)", DefaultValueFactory = _ => "pca" };
        var seed = new Option<int>("--seed") { Description = "t-SNE's seed", DefaultValueFactory = _ => 1 };
        var outPath = new Option<string>("--output", "-o") { Description = "the page to write (.html)", Required = true };
        var cmd = new Command("view", "Write a page with the joint query/key embedding (PCA or t-SNE) of a head; a click opens a point's sentence.") { db, head, sentences, projection, seed, outPath };
        cmd.SetAction(r => output.Guard(() =>
        {
            using var database = CorpusDatabase.OpenReadOnly(r.GetValue(db)!);
            var stored = HeadRef.ParseList(database.Info().GetValueOrDefault("qk_heads"));
            var chosen = r.GetValue(head) is { } h ? HeadRef.Parse(h)
                : stored.Count > 0 ? stored[0] : throw new AttnScopeException($"'{database.Path}' stores no queries and keys: build it with --qk-heads L.H");
            var result = HeadEmbedding.Compute(database, chosen, r.GetValue(sentences), r.GetValue(projection)!, r.GetValue(seed));
            var path = r.GetValue(outPath)!;
            File.WriteAllText(path, CorpusPage.Build(HeadEmbedding.ToJson(result), $"head {chosen}"));
            output.Out.WriteLine($"wrote {path}: head {chosen}, {result.Points.Count} points from {result.Sentences.Count} sentences " +
                (result.Projection == "tsne" ? "(t-SNE)" : $"(PC1 {100 * result.VarianceShare[0]:F1}%, PC2 {100 * result.VarianceShare[1]:F1}% of variance)"));
            return 0;
        }));
        return cmd;
    }
}
