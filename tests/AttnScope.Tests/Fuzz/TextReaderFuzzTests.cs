using System.Text;
using AttnScope.Sources.Models;
using AttnScope.Sources.Tokenization;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Data;
using AttnScope.Training.Model;
using AttnScope.Training.Text;
using AttnScope.Training.Training;
using Xunit.Abstractions;

namespace AttnScope.Tests.Fuzz;

/// <summary>
/// Bounded fuzzing of the text readers: a model's config.json, vocab.txt and tokenizer.json, a run folder's
/// config.json and vocabulary, and parallel corpora (TSV, JSON Lines, aligned plain text). Each mutated file is
/// read (and, for tokenizers, used on a sentence) or refused with one line; the reader allocates at most 64 bytes
/// per input byte plus 4 MB.
/// </summary>
[Trait("Category", "Fuzz")]
public class TextReaderFuzzTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Allocation limit of the text readers, per input: 64 × its length + 4 MB.</summary>
    public static long TextLimit(int length) => 64L * length + (4L << 20);

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void ModelConfig()
    {
        var full = TinyBert.ConfigJson.Replace("}", ",\"do_lower_case\":true,\"model_type\":\"bert\"}", StringComparison.Ordinal);
        var run = new FuzzRun { Name = "config.json", Seed = 1401, Seeds = [U(TinyBert.ConfigJson), U(full)], Text = true, AllocationLimit = TextLimit, Budget = TimeSpan.FromSeconds(3) };
        var outcome = run.Execute(bytes => BertConfig.FromJson(Encoding.UTF8.GetString(bytes), "config.json"), log);
        Assert.True(outcome.Accepted > 0 && outcome.Refused > 0, outcome.ToString());
    }

    [Fact]
    public void VocabTxt()
    {
        var path = _dir.File("vocab.txt");
        var seeds = new[] { U(string.Join("\n", TinyBert.Vocab) + "\n"), U(string.Join("\r\n", TinyBert.Vocab)) };
        var run = new FuzzRun { Name = "vocab.txt", Seed = 1402, Seeds = seeds, Text = true, AllocationLimit = TextLimit, Budget = TimeSpan.FromSeconds(4) };
        run.Execute(bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var encoder = WordPieceTextEncoder.FromVocabFile(path, lowerCase: true, maxLength: 16, maxVocab: 64);
            encoder.Encode("The cat sat on the unaffable mat!", "a big dog");
        }, log);
    }

    [Fact]
    public void TokenizerJson()
    {
        var path = _dir.File("tokenizer.json");
        string Json(bool lower) =>
            "{\"version\":\"1.0\",\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":" + (lower ? "true" : "false") + "}," +
            "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"vocab\":{" +
            string.Join(",", TinyBert.Vocab.Select((t, i) => $"\"{t}\":{i}")) + "}}}";
        var run = new FuzzRun { Name = "tokenizer.json", Seed = 1403, Seeds = [U(Json(true)), U(Json(false))], Text = true, AllocationLimit = TextLimit, Budget = TimeSpan.FromSeconds(4) };
        run.Execute(bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var encoder = WordPieceTextEncoder.FromTokenizerJson(path, lowerCase: null, maxLength: 16, maxVocab: 64);
            encoder.Encode("The cat sat on the unaffable mat!", "a big dog");
        }, log);
    }

    [Fact]
    public void RunConfig()
    {
        var config = new AttnScope.Training.Checkpoints.RunConfig
        {
            Model = new TransformerConfig { VocabSize = 300, Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
            Training = new TrainingOptions(),
            Probe = "the dog sees the cat .",
            ProbeTarget = "der Hund sieht die Katze .",
        };
        var run = new FuzzRun { Name = "run config.json", Seed = 1404, Seeds = [U(config.ToJson())], Text = true, AllocationLimit = TextLimit, Budget = TimeSpan.FromSeconds(3) };
        var outcome = run.Execute(bytes => AttnScope.Training.Checkpoints.RunConfig.FromJson(Encoding.UTF8.GetString(bytes), "config.json"), log);
        Assert.True(outcome.Accepted > 0 && outcome.Refused > 0, outcome.ToString());
    }

    [Fact]
    public void RunVocabulary()
    {
        var vocab = SubwordVocabulary.Learn(["the dog sees the cat .", "der Hund sieht die Katze .", "a small cat sleeps"], 60);
        vocab.Save(_dir.Path);
        var path = Path.Combine(_dir.Path, SubwordVocabulary.VocabFileName);
        var seed = File.ReadAllBytes(path);
        var run = new FuzzRun { Name = "run vocab.txt", Seed = 1405, Seeds = [seed], Text = true, AllocationLimit = TextLimit, Budget = TimeSpan.FromSeconds(3) };
        run.Execute(bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var v = SubwordVocabulary.Load(_dir.Path);
            var encoded = v.Encode("the dog sees a cat");
            v.Decode(encoded.Ids);
        }, log);
    }

    [Fact]
    public void ParallelCorpora()
    {
        var tsv = U("en\tde\nThe dog sleeps.\tDer Hund schläft.\nGood morning.\tGuten Morgen.\r\n\t\nno tab\n");
        var jsonl = U("{\"translation\":{\"en\":\"The dog sleeps.\",\"de\":\"Der Hund schläft.\"}}\n{\"translation\":{\"en\":\"Hi\",\"de\":\"Hallo\"}}\n[1]\n");
        var en = U("\uFEFFThe dog sleeps.\nGood morning.\nA cat.\n");
        var de = U("Der Hund schläft.\nGuten Morgen.\nEine Katze.\n");
        // The seed says which layout the input is read as: its first byte picks TSV, JSON Lines or the .en side of a pair.
        byte[] Tag(byte tag, byte[] body) => [tag, .. body];
        var run = new FuzzRun
        {
            Name = "parallel corpora", Seed = 1406, Seeds = [Tag(0, tsv), Tag(1, jsonl), Tag(2, en)], Text = true,
            AllocationLimit = TextLimit, Budget = TimeSpan.FromSeconds(4),
        };
        File.WriteAllBytes(_dir.File("pair.de"), de);
        var outcome = run.Execute(bytes =>
        {
            if (bytes.Length == 0) return;
            var body = bytes.AsSpan(1).ToArray();
            string path = (bytes[0] % 3) switch
            {
                0 => _dir.File("corpus.tsv"),
                1 => _dir.File("corpus.jsonl"),
                _ => _dir.File("pair.en"),
            };
            File.WriteAllBytes(path, body);
            var result = ParallelCorpusReader.Read(bytes[0] % 3 == 2 ? _dir.File("pair") : path, maxWords: 8);
            _ = result.Report.ToString();
        }, log);
        Assert.True(outcome.Accepted > 0, outcome.ToString());
    }
}
