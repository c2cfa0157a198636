using System.Text;
using AttnScope.Capture;
using AttnScope.Sources.Transformer;
using AttnScope.Tests.Analyses;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Data;
using AttnScope.Training.Decoding;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Model;
using AttnScope.Training.Text;

namespace AttnScope.Tests.Training;

/// <summary>
/// Memory reranking (translate/evaluate --memory): a target's log-probability under teacher forcing, the choice
/// between the model's beam-search translation and the translations of the most similar memory pairs, and the CLI.
/// The reference scores come from plain (uncached) forward passes of the whole target, not from the key/value-cached
/// decoder the code under test uses, so a mistake in either shows.
/// </summary>
public class MemoryRerankTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    /// <summary>log p(target · EOS | source) from one uncached forward pass of BOS · target, summed in double.</summary>
    private static double UncachedLogProbability(Transformer model, int[] source, int[] target)
    {
        var memory = model.EncoderModel.Forward(new ForwardInput { Ids = source }).Hidden;
        var logits = model.DecoderModel.Forward(new ForwardInput { Ids = [SubwordVocabulary.BosId, .. target], Memory = memory, Logits = LogitRows.All }).Logits!.Data;
        int v = model.Config.VocabSize;
        double total = 0;
        for (int row = 0; row <= target.Length; row++)
        {
            int y = row < target.Length ? target[row] : SubwordVocabulary.EosId;
            double max = double.NegativeInfinity, sum = 0;
            for (int k = 0; k < v; k++) max = Math.Max(max, logits[row * v + k]);
            for (int k = 0; k < v; k++) sum += Math.Exp(logits[row * v + k] - max);
            total += logits[row * v + y] - max - Math.Log(sum);
        }
        return total;
    }

    [Fact]
    public void ScoreIsTheLogProbabilityOfEachTargetAndItsEnd()
    {
        var translator = RelevanceTranslationTests.TinyTranslator();
        var model = translator.Model;
        var (_, source, _) = translator.EncodeSource("the dog sleeps");
        int[][] targets = [[5, 9, 4], [7], [], [11, 12, 13, 14, 15, 16], [5, 9, 4]];
        var scores = Search.Score(model, source, targets, SubwordVocabulary.BosId, SubwordVocabulary.EosId, maxSteps: 20);
        Assert.Equal(targets.Length, scores.Length);
        for (int i = 0; i < targets.Length; i++)
        {
            double expected = UncachedLogProbability(model, source, targets[i]);
            Assert.True(Math.Abs(expected - scores[i]) < 1e-3, $"target {i}: uncached {expected}, scored {scores[i]}");
        }
        Assert.Equal(scores[0], scores[4]); // the same target scores the same beside others

        // a finished beam hypothesis scores what beam search said it scored
        int compared = 0;
        foreach (int seed in new[] { 1, 2, 3, 4, 5, 6, 7, 8 })
        {
            var other = RelevanceTranslationTests.TinyTranslator(seed: seed).Model;
            var beam = Search.Beam(other, source, SubwordVocabulary.BosId, SubwordVocabulary.EosId, 20, 4);
            if (!beam.Finished) continue;
            compared++;
            var again = Search.Score(other, source, [beam.Ids], SubwordVocabulary.BosId, SubwordVocabulary.EosId, 20)[0];
            Assert.True(Math.Abs(again - beam.LogProbability) < 1e-3, $"seed {seed}: beam {beam.LogProbability}, scored {again}");
        }
        Assert.True(compared > 0, "no random model finished a beam hypothesis");

        Assert.Throws<ArgumentException>(() => Search.Score(model, source, [[5, 5, 5, 5]], SubwordVocabulary.BosId, SubwordVocabulary.EosId, maxSteps: 4));
        Assert.Empty(Search.Score(model, source, [], SubwordVocabulary.BosId, SubwordVocabulary.EosId, 4));
    }

    /// <summary>
    /// Over several random models and sentences, the translator's choice is the highest length-normalized log-probability
    /// among its own beam-search translation and the memory's candidates, each scored here without the cache; both
    /// outcomes occur, and a choice from the memory names its pair and is that pair's translation.
    /// </summary>
    [Fact]
    public void TheModelPicksTheMostProbableOfItsOwnAndTheMemorysTranslations()
    {
        string[] sources = ["the dog sleeps", "the cat sleeps", "the dog", "a cat sleeps", "the dogs sleep"];
        int fromMemory = 0, own = 0;
        foreach (int seed in new[] { 1, 2, 3, 4, 5, 6 })
        {
            var plain = RelevanceTranslationTests.TinyTranslator(seed: seed);
            var vocab = plain.Vocabulary;
            // the memory: the corpus the vocabulary was learned from, and each sentence's own wider-beam translation,
            // which often beats its greedy one
            var pairs = new List<ParallelPair> { new("the dog sleeps", "der Hund schläft"), new("the cat sleeps", "die Katze schläft"), new("the dog", "der Hund") };
            foreach (var s in sources) pairs.Add(new ParallelPair(s + " !", plain.Translate(s, beam: 4).Text));
            var memory = new MemoryCandidates(pairs, count: 3);
            var reranking = new Translator(plain.Model, vocab, "tiny") { Candidates = memory };
            foreach (var s in sources)
            {
                var (_, ids, _) = plain.EncodeSource(s);
                var greedy = Search.Greedy(plain.Model, ids, SubwordVocabulary.BosId, SubwordVocabulary.EosId, plain.MaxSteps(ids.Length));
                double bestScore = greedy.Finished ? Search.Normalized(UncachedLogProbability(plain.Model, ids, greedy.Ids), greedy.Ids.Length) : double.NegativeInfinity;
                string expected = vocab.Decode(greedy.Ids);
                int expectedIndex = -1;
                foreach (var (index, _) in memory.For(s))
                {
                    var target = vocab.Encode(pairs[index].Target).Ids;
                    if (target.Length + 1 > plain.MaxSteps(ids.Length) || target.AsSpan().SequenceEqual(greedy.Ids)) continue;
                    double score = Search.Normalized(UncachedLogProbability(plain.Model, ids, target), target.Length);
                    if (score > bestScore + 1e-6) { bestScore = score; expected = pairs[index].Target; expectedIndex = index; }
                }
                var t = reranking.Translate(s, beam: 1);
                Assert.Equal(expected, t.Text);
                if (expectedIndex < 0) { Assert.Null(t.FromMemory); own++; continue; }
                fromMemory++;
                Assert.NotNull(t.FromMemory);
                Assert.Equal(expectedIndex, t.FromMemory!.Index);
                Assert.Equal(pairs[expectedIndex].Source, t.FromMemory.Source);
                Assert.Equal(vocab.Encode(pairs[expectedIndex].Target).Ids, t.TargetIds);
                Assert.True(t.FromMemory.Score > t.FromMemory.ModelScore);
                // its capture is the model reading the memory's translation, and says so
                var capture = reranking.Capture(t);
                Assert.Equal(pairs[expectedIndex].Source, capture.Metadata.Extra["memory_source"]);
                Assert.Equal(t.TargetIds.Length + 1, capture.TargetTokens.Count);
            }
        }
        Assert.True(fromMemory > 0 && own > 0, $"the memory won {fromMemory} times and the model {own}: the test needs both");
    }

    [Fact]
    public void TopListsTheMostSimilarPairsBestFirst()
    {
        var pairs = new List<ParallelPair>
        {
            new("open the file", "a"), new("close the file", "b"), new("open the window", "c"), new("print", "d"),
            new("open the file now", "e"), new("open the file", "f"),
        };
        var nn = new AttnScope.Training.Evaluation.NearestNeighbourTranslator(pairs);
        var top = nn.Top("open the file", 4);
        Assert.Equal(4, top.Count);
        Assert.Equal((0, nn.Best("open the file").Cosine), top[0]); // the same as the best match; the tie goes to the earlier pair
        Assert.Equal(5, top[1].Index);
        Assert.Equal(4, top[2].Index);
        for (int i = 1; i < top.Count; i++) Assert.True(top[i - 1].Cosine >= top[i].Cosine);
        Assert.DoesNotContain(top, m => m.Index == 3); // "print" shares no trigram
        Assert.Empty(nn.Top("zzzz", 3));
        Assert.Empty(nn.Top("open", 0));
        // each next one is the best once the ones before it are set aside
        var found = new HashSet<int>();
        foreach (var (index, cosine) in top)
        {
            var next = nn.Best("open the file", skip: found.Contains);
            Assert.Equal(next.Index, index);
            Assert.True(Math.Abs(next.Cosine - cosine) < 1e-6);
            found.Add(index);
        }
    }

    [Fact]
    public void EvaluateAndTranslateUseTheMemory()
    {
        using var dir = new TempDir();
        // the memory: the run's built-in held-out pairs themselves, whose references the 4-step model often prefers
        var hypsPlain = dir.File("plain.txt");
        var (code, output, err) = CliTests.Run("evaluate", fixture.Run, "--output", hypsPlain, "--threads", "1");
        Assert.True(code == 0, err);
        var refsFile = dir.File("memory.tsv");
        var c = AttnScope.Training.Checkpoints.RunFolder.Open(fixture.Run).Config;
        var test = AttnScope.Training.Training.CorpusLoader.Load(c.Corpus, c.SourceLanguage, c.TargetLanguage, c.Training, c.Data).Test;
        File.WriteAllLines(refsFile, test.Select(p => p.Source + "\t" + p.Target));
        var hypsMemory = dir.File("memory-hyps.txt");
        (code, output, err) = CliTests.Run("evaluate", fixture.Run, "--output", hypsMemory, "--threads", "2", "--memory", refsFile, "--memory-candidates", "2");
        Assert.True(code == 0, err);
        Assert.Contains($"memory reranking: {test.Count} pairs", err);

        // the same sentences through the library with the same memory give the same lines
        var memory = new MemoryCandidates(test, 2);
        var translator = Translator.Open(fixture.Run, candidates: memory);
        var lines = File.ReadAllLines(hypsMemory, Encoding.UTF8);
        var plainLines = File.ReadAllLines(hypsPlain, Encoding.UTF8);
        Assert.Equal(test.Count, lines.Length);
        int changed = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var t = translator.Translate(test[i].Source, beam: 1);
            Assert.Equal(t.Text, lines[i]);
            if (t.FromMemory is not null) { changed++; Assert.Equal(test[t.FromMemory.Index].Target, lines[i]); }
            else Assert.Equal(plainLines[i], lines[i]);
        }
        Assert.True(changed > 0, "no line came from the memory: the test would not see the option ignored");

        // translate --text says where a translation came from; --memory train reads the run's own training pairs
        var chosen = Enumerable.Range(0, test.Count).First(i => translator.Translate(test[i].Source, beam: 4).FromMemory is not null);
        (code, output, err) = CliTests.Run("translate", fixture.Run, "--text", test[chosen].Source, "--memory", refsFile, "--memory-candidates", "2");
        Assert.True(code == 0, err);
        Assert.Contains("from the translation memory", err);
        Assert.Equal(translator.Translate(test[chosen].Source, beam: 4).Text, output.TrimEnd('\n', '\r'));
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog sleeps .", "--memory", "train");
        Assert.True(code == 0, err);
        Assert.Contains("memory reranking: ", err);
        Assert.Contains("pairs of the run's training pairs", err);
    }

    [Fact]
    public void MemoryOptionMistakesAreOneLineErrors()
    {
        var (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog", "--memory-candidates", "3");
        CliTests.AssertOneLineError(code, err, "needs --memory");
        (code, _, err) = CliTests.Run("translate", fixture.Run, "--text", "the dog", "--memory", "train", "--memory-candidates", "0");
        CliTests.AssertOneLineError(code, err, "out of range");
        using var dir = new TempDir();
        (code, _, err) = CliTests.Run("evaluate", fixture.Run, "--memory", dir.File("missing.tsv"));
        Assert.Equal(1, code);
        Assert.Contains("missing.tsv", err);
    }
}
