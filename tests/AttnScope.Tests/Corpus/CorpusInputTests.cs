using AttnScope.Capture;
using AttnScope.Corpus;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using static AttnScope.Tests.Corpus.CorpusTestData;

namespace AttnScope.Tests.Corpus;

/// <summary>Input files: TSV and JSON Lines fields, and bad input reported in one line naming the line.</summary>
[Collection("minilm")]
public sealed class CorpusInputTests
{
    [Fact]
    public void EmptyFileIsOneClearError()
    {
        using var dir = new TempDir();
        var input = dir.File("empty.txt");
        File.WriteAllText(input, "\n  \n");
        var (code, _, err) = CliTests.Run("corpus", "--input", input, "--out", dir.File("c.duckdb"));
        CliTests.AssertOneLineError(code, err, "holds no sentences");
        Assert.False(File.Exists(dir.File("c.duckdb")), "no database is created for an empty input");
    }

    [Fact]
    public void MalformedJsonLineIsNamedBeforeAnyWork()
    {
        using var dir = new TempDir();
        var input = dir.File("bad.jsonl");
        File.WriteAllText(input, "{\"text\": \"A fine line.\"}\n{\"text\": \"Another.\"}\n{\"text\": \"broken\n{\"text\": \"Never read.\"}\n");
        var (code, _, err) = CliTests.Run("corpus", "--input", input, "--out", dir.File("c.duckdb"));
        CliTests.AssertOneLineError(code, err, "line 3 is not valid JSON");
        Assert.False(File.Exists(dir.File("c.duckdb")));
    }

    [Fact]
    public void JsonLineWithoutTheTextFieldIsNamed()
    {
        using var dir = new TempDir();
        var input = dir.File("bad.jsonl");
        File.WriteAllText(input, "{\"text\": \"A fine line.\"}\n[1, 2]\n");
        var (code, _, err) = CliTests.Run("corpus", "--input", input, "--out", dir.File("c.duckdb"));
        CliTests.AssertOneLineError(code, err, "line 2 is JSON array");
    }

    [Fact]
    public void HugeLineIsRefusedByNumberWithoutReadingItWhole()
    {
        using var dir = new TempDir();
        var input = dir.File("huge.txt");
        using (var w = new StreamWriter(input))
        {
            w.WriteLine("A short first line.");
            w.Write(new string('a', CorpusInput.DefaultMaxLineCharacters + 10));
            w.WriteLine();
        }
        var (code, _, err) = CliTests.Run("corpus", "--input", input, "--out", dir.File("c.duckdb"));
        CliTests.AssertOneLineError(code, err, "line 2 is longer than 1,000,000 characters");
    }

    [Fact]
    public void LongButAllowedLineIsTruncatedByTheTokenizerWithAWarningStored()
    {
        using var dir = new TempDir();
        var words = string.Join(" ", Enumerable.Repeat("word", 3000));
        var input = WriteText(dir, ["Short.", words]);
        var db = dir.File("c.duckdb");
        RunCorpus("--input", input, "--out", db);
        Assert.Equal(512, Longs(db, "SELECT n_tokens FROM sentences WHERE line = 2")[0]);
        Assert.Equal(1, Longs(db, "SELECT count(*) FROM sentences WHERE line = 2 AND warnings IS NOT NULL")[0]);
    }

    [Fact]
    public void TsvAndJsonLinesFieldsAreRead()
    {
        using var dir = new TempDir();
        var tsv = dir.File("in.tsv");
        File.WriteAllText(tsv, "id\tsentence\tother\n7\tThe cat sat.\tA dog ran.\n\n8\tBirds sing.\t\n");
        var read = CorpusInput.Read(tsv, new CorpusInputOptions { Format = CorpusInputFormat.Tsv, TextColumn = 2, PairColumn = 3, Header = true }).ToList();
        Assert.Equal([new CorpusLine(2, "The cat sat.", "A dog ran."), new CorpusLine(4, "Birds sing.", null)], read);

        var jsonl = dir.File("in.jsonl");
        File.WriteAllText(jsonl, "{\"s\": \"One.\", \"p\": \"Two.\"}\r\n{\"s\": \"Three.\"}\r\n");
        var json = CorpusInput.Read(jsonl, new CorpusInputOptions { Format = CorpusInputFormat.JsonLines, TextField = "s", PairField = "p" }).ToList();
        Assert.Equal([new CorpusLine(1, "One.", "Two."), new CorpusLine(2, "Three.", null)], json);

        var (code, _, err) = CliTests.Run("corpus", "--input", tsv, "--out", dir.File("c.duckdb"), "--text-column", "5");
        CliTests.AssertOneLineError(code, err, "column 5 was asked for");
    }

    [Fact]
    public void SentencePairsAreCapturedAsPairs()
    {
        using var dir = new TempDir();
        var jsonl = dir.File("pairs.jsonl");
        File.WriteAllText(jsonl, "{\"text\": \"The cat sat.\", \"pair\": \"It was tired.\"}\n");
        var db = dir.File("c.duckdb");
        RunCorpus("--input", jsonl, "--out", db, "--pair-field", "pair");
        // [CLS] the cat sat . [SEP] it was tired . [SEP]
        Assert.Equal(11, Longs(db, "SELECT n_tokens FROM sentences")[0]);
    }

    [Fact]
    public void BadHeadsAreRefused()
    {
        Assert.Throws<AttnScopeException>(() => HeadRef.Parse("2"));
        Assert.Throws<AttnScopeException>(() => HeadRef.Parse("a.b"));
        using var dir = new TempDir();
        var input = WriteText(dir, Lines);
        var (code, _, err) = CliTests.Run("corpus", "--input", input, "--out", dir.File("c.duckdb"), "--qk-heads", "6.0");
        CliTests.AssertOneLineError(code, err, "head 6.0 does not exist");
    }
}
