using System.Diagnostics;
using AttnScope.Capture;
using AttnScope.Training.Data;
using AttnScope.Training.Decoding;
using AttnScope.Training.Evaluation;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Metrics;

namespace AttnScope.Bench;

/// <summary>
/// The real-data translation benchmark: English→German program messages from the gettext catalogs Debian packages
/// install (<see cref="GettextCorpus"/>), with its two baselines measured in the same run — copying the source, and
/// retrieving the translation of the most similar training sentence — and, given a trained run folder, that
/// model's held-out BLEU beside them. <c>--out DIR</c> writes train.tsv / heldout.tsv for <c>attnscope train</c>.
/// </summary>
internal static class RealDataBenchmark
{
    public const string DefaultCatalogs = "/usr/share/locale/de/LC_MESSAGES";

    public static int Run(string[] args)
    {
        string catalogs = DefaultCatalogs;
        string? outDir = null;
        var runs = new List<string>();
        int heldOut = 2000, seed = 1, beam = 4, memory = 0;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new AttnScopeException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--catalogs": catalogs = Next(); break;
                case "--out": outDir = Next(); break;
                case "--run": runs.Add(Next()); break;
                case "--held-out": heldOut = int.Parse(Next()); break;
                case "--seed": seed = int.Parse(Next()); break;
                case "--beam": beam = int.Parse(Next()); break;
                case "--memory": memory = int.Parse(Next()); break;
                default: throw new AttnScopeException($"unknown option '{args[i]}' (expected --catalogs, --out, --run, --held-out, --seed, --beam, --memory K)");
            }
        }
        var sw = Stopwatch.StartNew();
        var split = GettextCorpus.Build(catalogs, heldOut, seed);
        Console.WriteLine($"real-data benchmark (en→de gettext catalogs in {catalogs}):");
        Console.WriteLine($"  {split.Description}; read in {sw.Elapsed.TotalSeconds:F1} s");
        foreach (var r in split.RefusedCatalogs) Console.WriteLine($"  skipped: {r}");
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
            GettextCorpus.WriteTsv(Path.Combine(outDir, "train.tsv"), split.Train);
            GettextCorpus.WriteTsv(Path.Combine(outDir, "heldout.tsv"), split.HeldOut);
            Console.WriteLine($"  wrote {Path.Combine(outDir, "train.tsv")} and {Path.Combine(outDir, "heldout.tsv")}");
        }
        var sources = split.HeldOut.Select(p => p.Source).ToList();
        var refs = split.HeldOut.Select(p => p.Target).ToList();

        var copy = Bleu.Corpus(sources, refs);
        Console.WriteLine($"  copy-source baseline:              BLEU {copy.Score,6:F2}");
        sw.Restart();
        var retrieval = new NearestNeighbourTranslator(split.Train);
        var retrieved = retrieval.TranslateAll(sources);
        var nn = Bleu.Corpus(retrieved, refs);
        Console.WriteLine($"  nearest-neighbour retrieval:       BLEU {nn.Score,6:F2}  ({sw.Elapsed.TotalSeconds:F1} s)");
        // Memory reranking draws on the training pairs only: the held-out pairs are never in the memory.
        var candidates = memory > 0 ? new MemoryCandidates(split.Train, memory) : null;
        foreach (var run in runs)
        {
            Score(run, null, $"model {run} (beam {beam})");
            if (candidates is not null) Score(run, candidates, $"model {run} (beam {beam}) + memory reranking of the {memory} most similar training pairs");
        }
        return 0;

        void Score(string run, MemoryCandidates? memoryCandidates, string label)
        {
            sw.Restart();
            var chosen = 0;
            var (hyps, _) = BatchTranslation.TranslateWith(sources, BatchTranslation.DefaultThreads, () =>
            {
                var translator = Translator.Open(run, candidates: memoryCandidates);
                return text =>
                {
                    var t = translator.Translate(text, beam);
                    if (t.FromMemory is not null) Interlocked.Increment(ref chosen);
                    return (t.Text, t.Warnings);
                };
            });
            var score = Bleu.Corpus(hyps, refs);
            Console.WriteLine($"  {label}: BLEU {score.Score,6:F2}  = {score.Score / nn.Score:F2}× retrieval, " +
                              $"{score.Score / Math.Max(copy.Score, 1e-9):F2}× copy  ({sources.Count / sw.Elapsed.TotalSeconds:F0} sentences/s on {BatchTranslation.DefaultThreads} threads" +
                              (memoryCandidates is null ? ")" : $"; {chosen:N0} of {sources.Count:N0} translations taken from the memory)"));
        }
    }
}
