using AttnScope.Capture;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Data;
using AttnScope.Training.Decoding;
using AttnScope.Training.Evaluation;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Model;
using AttnScope.Training.Text;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

/// <summary>Fuzzy repair (train --fuzzy): retrieval with its similarity score, the joined source, the memory file, and a
/// run that keeps and uses its memory in translate and capture.</summary>
public class FuzzyMatchTests
{
    /// <summary>The cosine <see cref="NearestNeighbourTranslator.Best"/> reports against a dense computation written from
    /// the documented definition: TF-IDF over character trigrams, IDF ln(N/df), a query trigram that no training
    /// source has weighted ln(N + 1), cosine = dot / (|q| |d|), best by a linear scan with ties to the earlier pair.</summary>
    [Fact]
    public void BestScoreIsTheCosineOfTheDocumentedVectors()
    {
        var random = new Random(11);
        string Word() => new(Enumerable.Range(0, random.Next(2, 7)).Select(_ => (char)('a' + random.Next(7))).ToArray());
        string Sentence() => string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Word()));
        var train = Enumerable.Range(0, 150).Select(i => new ParallelPair(Sentence(), $"t{i}")).ToList();
        var nn = new NearestNeighbourTranslator(train);
        static List<string> Grams(string s) { var p = " " + s.ToLowerInvariant() + " "; return Enumerable.Range(0, p.Length - 2).Select(i => p.Substring(i, 3)).ToList(); }
        int n = train.Count;
        var df = train.SelectMany(p => Grams(p.Source).Distinct()).GroupBy(g => g).ToDictionary(g => g.Key, g => g.Count());
        double Idf(string g) => df.TryGetValue(g, out int d) ? Math.Log((double)n / d) : Math.Log(n + 1.0);
        Dictionary<string, double> Vector(string s) => Grams(s).GroupBy(g => g).ToDictionary(g => g.Key, g => g.Count() * Idf(g.Key));
        static double Norm(Dictionary<string, double> v) => Math.Sqrt(v.Values.Sum(x => x * x));
        for (int q = 0; q < 40; q++)
        {
            var query = q % 5 == 0 ? train[q].Source : Sentence() + (q % 3 == 0 ? " xyzq" : "");
            var qv = Vector(query);
            var sims = train.Select(p =>
            {
                var dv = Vector(p.Source);
                double dn = Norm(dv), qn = Norm(qv);
                return dn == 0 || qn == 0 ? 0 : qv.Sum(kv => kv.Value * dv.GetValueOrDefault(kv.Key)) / (dn * qn);
            }).ToList();
            var (index, cosine) = nn.Best(query);
            double best = sims.Max();
            Assert.True(Math.Abs(sims[index] - best) < 1e-5, $"query '{query}': picked {index} ({sims[index]:F6}), best {best:F6}");
            Assert.True(Math.Abs(cosine - best) < 1e-4, $"query '{query}': cosine {cosine:F6}, expected {best:F6}");
            if (q % 5 == 0) Assert.True(cosine > 0.9999f); // the query is a training source
        }
        Assert.Equal((-1, 0f), nn.Best("qqqq")); // nothing shared
    }

    private static List<ParallelPair> Memory() =>
    [
        new("Cannot open file %s", "Datei %s kann nicht geöffnet werden"),
        new("Cannot open file %s", "Kann Datei %s nicht öffnen"),
        new("Cannot open directory %s", "Verzeichnis %s kann nicht geöffnet werden"),
        new("Print", "Drucken"),
        new("Close the window", "Fenster schließen"),
    ];

    [Fact]
    public void TrainingMatchesLeaveOutPairsWithTheSameSourceAndWeakMatches()
    {
        var memory = new FuzzyMemory(Memory(), new FuzzyOptions { MinScore = 0 });
        var plain = memory.Find("Cannot open file %s")!;
        Assert.Equal("Cannot open file %s", plain.Source);       // at translation time the same text is the best match
        Assert.True(plain.Score > 0.999f);
        var training = memory.Find("Cannot open file %s", excludeSameSource: true)!;
        Assert.Equal("Cannot open directory %s", training.Source); // in training, never itself (nor its other translations)
        Assert.InRange(training.Score, 0.01f, 0.99f);
        Assert.Null(memory.Find("Close the window", excludeSameSource: true)); // shares no trigram with any other source
        // the minimum score: a match just under it is not used, the source goes alone
        var strict = new FuzzyMemory(Memory(), new FuzzyOptions { MinScore = training.Score + 0.001 });
        Assert.Null(strict.Find("Cannot open file %s", excludeSameSource: true));
        var loose = new FuzzyMemory(Memory(), new FuzzyOptions { MinScore = training.Score - 0.001 });
        Assert.Equal(training.Index, loose.Find("Cannot open file %s", excludeSameSource: true)!.Index);
        var all = memory.FindAll(Memory().Select(p => p.Source).ToList(), excludeSameSource: true);
        for (int i = 0; i < all.Length; i++)
            if (all[i] is { } m) Assert.NotEqual(Memory()[i].Source, m.Source);
        Assert.Throws<AttnScopeException>(() => new FuzzyMemory(Memory(), new FuzzyOptions { MinScore = 1.5 }));
    }

    [Fact]
    public void TheJoinedSourceIsSourceSeparatorAndTheMatchCutToFit()
    {
        var vocab = SubwordVocabulary.Learn(Memory().SelectMany(p => new[] { p.Source, p.Target }), 200, [FuzzyMemory.Separator]);
        int sep = FuzzyMemory.SeparatorId(vocab);
        Assert.Equal(vocab.Size - 1, sep); // the last piece
        var memory = new FuzzyMemory(Memory(), new FuzzyOptions { MaxMatchPieces = 60, MinScore = 0 });
        var src = vocab.Encode("Cannot open directory %s").Ids;
        var match = memory.Find("Cannot open directory %s", excludeSameSource: true)!;
        var target = vocab.Encode(match.Target).Ids;
        var joined = memory.Augment(vocab, src, match, 100, out int kept);
        Assert.Equal([.. src, sep, .. target], joined);
        Assert.Equal(target.Length, kept);
        var cut = memory.Augment(vocab, src, match, src.Length + 3, out kept);
        Assert.Equal([.. src, sep, .. target[..2]], cut);
        Assert.Equal(2, kept);
        Assert.Equal(src, memory.Augment(vocab, src, null, 100, out _));
        Assert.Equal(src, memory.Augment(vocab, src, match, src.Length, out _)); // no room: the source alone, never cut
        var noSep = SubwordVocabulary.Learn(Memory().SelectMany(p => new[] { p.Source, p.Target }), 200);
        Assert.Contains("not trained with --fuzzy", Assert.Throws<AttnScopeException>(() => FuzzyMemory.SeparatorId(noSep)).Message);
    }

    [Fact]
    public void TheMemoryFileRoundTripsAndBadFilesGiveAClearError()
    {
        using var dir = new TempDir();
        var pairs = Memory().Append(new("tab\there \"quoted\"", "neue\nZeile")).ToList();
        new FuzzyMemory(pairs, new FuzzyOptions()).Save(dir.Path);
        var back = FuzzyMemory.Load(dir.Path, new FuzzyOptions());
        Assert.Equal(pairs.Select(p => (p.Source, p.Target)), back.Pairs.Select(p => (p.Source, p.Target)));
        var path = Path.Combine(dir.Path, FuzzyMemory.FileName);
        File.AppendAllText(path, "{\"source\": \"x\"}\n");
        Assert.Contains($"line {pairs.Count + 1}", Assert.Throws<AttnScopeException>(() => FuzzyMemory.Load(dir.Path, new FuzzyOptions())).Message);
        File.Delete(path);
        Assert.Contains("missing", Assert.Throws<AttnScopeException>(() => FuzzyMemory.Load(dir.Path, new FuzzyOptions())).Message);
    }

    [Fact]
    public void AFuzzyRunKeepsItsMemoryAndTranslatesAndCapturesWithIt()
    {
        using var dir = new TempDir();
        var corpus = dir.File("corpus.tsv");
        var lines = new List<string>();
        for (int i = 0; i < 150; i++) lines.Add($"open file number {i}\tDatei Nummer {i} öffnen");
        for (int i = 0; i < 150; i++) lines.Add($"close window number {i}\tFenster Nummer {i} schließen");
        File.WriteAllLines(corpus, lines);
        var log = new StringWriter();
        var request = new TrainRequest
        {
            Corpus = corpus, Out = dir.File("run"), Steps = 2, Evaluate = false,
            Model = new TransformerConfig { Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
            Options = new TrainingOptions { VocabSize = 120, BatchTokens = 300, Seed = 3 },
            Fuzzy = new FuzzyOptions { MinScore = 0.2 },
        };
        RunTrainer.Run(request, log, interactive: false, CancellationToken.None);
        Assert.Contains("fuzzy repair: a translation memory of 294 pairs", log.ToString());
        Assert.Matches(@"\d+ training pairs encoded.*; \d+ with a fuzzy match", log.ToString());
        var run = RunFolder.Open(dir.File("run"));
        Assert.Equal(0.2, run.Config.Fuzzy!.MinScore);
        Assert.True(File.Exists(Path.Combine(run.Path, FuzzyMemory.FileName)));

        var translator = Translator.Open(run.Path);
        Assert.NotNull(translator.Memory);
        int sep = FuzzyMemory.SeparatorId(translator.Vocabulary);
        var (enc, ids, _) = translator.EncodeSource("open file number 7000");
        int at = Array.IndexOf(ids, sep);
        Assert.True(at > 0, "the source is followed by the separator");
        Assert.Equal(translator.Vocabulary.Encode("open file number 7000").Ids, ids[..at]);
        var match = translator.MatchOf("open file number 7000")!;
        Assert.StartsWith("open file number", match.Source);
        Assert.Equal(translator.Vocabulary.Encode(match.Target).Ids, ids[(at + 1)..^1]);
        Assert.Equal(ids.Length - 1, enc.Length);

        var t = translator.Translate("open file number 7000");
        var capture = translator.Capture(t);
        var tokens = capture.Tokens;
        Assert.Equal(ids.Length, tokens.Count);
        Assert.All(tokens.Take(at), tk => Assert.Equal(Segment.A, tk.Segment));
        Assert.Equal(FuzzyMemory.Separator, tokens[at].Text);
        Assert.True(tokens[at].IsSpecial);
        Assert.All(tokens.Skip(at), tk => Assert.Equal(Segment.B, tk.Segment));
        Assert.Equal(match.Target, capture.Metadata.Extra["fuzzy_match_target"]);

        // a run without --fuzzy is unchanged: no memory, no separator
        var plainLog = new StringWriter();
        RunTrainer.Run(request with { Out = dir.File("plain"), Fuzzy = null }, plainLog, interactive: false, CancellationToken.None);
        var plain = Translator.Open(dir.File("plain"));
        Assert.Null(plain.Memory);
        Assert.Equal([.. plain.Vocabulary.Encode("open file number 7000").Ids, SubwordVocabulary.EosId], plain.EncodeSource("open file number 7000").Ids);
        Assert.DoesNotContain("fuzzy", plainLog.ToString());
    }

    [Fact]
    public void TheCommandLineTakesFuzzyForANewRunOnly()
    {
        using var dir = new TempDir();
        var corpus = dir.File("corpus.tsv");
        File.WriteAllLines(corpus, Enumerable.Range(0, 120).Select(i => $"open file number {i}\tDatei Nummer {i} öffnen"));
        var (code, _, err) = AttnScope.Tests.Cli.CliTests.Run("train", "--corpus", corpus, "--out", dir.File("run"), "--steps", "1", "--fuzzy", "--fuzzy-min", "0.25",
            "--d-model", "16", "--heads", "2", "--d-ff", "32", "--layers", "1", "--vocab-size", "100", "--no-evaluate");
        Assert.True(code == 0, err);
        Assert.Equal(0.25, RunFolder.Open(dir.File("run")).Config.Fuzzy!.MinScore);
        (code, _, err) = AttnScope.Tests.Cli.CliTests.Run("train", "--out", dir.File("run"), "--resume", "--fuzzy", "--steps", "2");
        AttnScope.Tests.Cli.CliTests.AssertOneLineError(code, err, "--fuzzy is chosen when a run starts");
        (code, _, err) = AttnScope.Tests.Cli.CliTests.Run("train", "--corpus", corpus, "--out", dir.File("run2"), "--steps", "1", "--fuzzy", "--fuzzy-min", "2",
            "--d-model", "16", "--heads", "2", "--d-ff", "32", "--layers", "1", "--vocab-size", "100");
        AttnScope.Tests.Cli.CliTests.AssertOneLineError(code, err, "min_score 2 must be between 0 and 1");
    }
}
