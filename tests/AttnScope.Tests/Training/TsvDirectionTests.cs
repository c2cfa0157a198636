using AttnScope.Capture;
using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Data;

namespace AttnScope.Tests.Training;

/// <summary>--src/--tgt decide the direction of a TSV: its header names the columns, and columns that read as the
/// other language than declared are warned about.</summary>
public class TsvDirectionTests
{
    /// <summary>Short real English–German pairs with the usual function words.</summary>
    internal static readonly (string En, string De)[] Pairs =
    [
        ("The dog is in the house.", "Der Hund ist in dem Haus."),
        ("I have not seen the cat.", "Ich habe die Katze nicht gesehen."),
        ("We are on the way to the station.", "Wir sind auf dem Weg zum Bahnhof."),
        ("This is a book for you.", "Das ist ein Buch für dich."),
        ("It was cold and the wind was strong.", "Es war kalt und der Wind war stark."),
        ("The children play in the garden.", "Die Kinder spielen in dem Garten."),
        ("You will find the key on the table.", "Du wirst den Schlüssel auf dem Tisch finden."),
        ("We have a meeting with the team.", "Wir haben ein Treffen mit dem Team."),
        ("The weather is not good today.", "Das Wetter ist heute nicht gut."),
        ("I want to read the letter.", "Ich will den Brief lesen."),
        ("The train is late and we are waiting.", "Der Zug ist spät und wir warten."),
        ("She has the answer to the question.", "Sie hat die Antwort auf die Frage."),
    ];

    private static string EnglishFirst(bool header) =>
        (header ? "en\tde\n" : "") + string.Concat(Pairs.Select(p => $"{p.En}\t{p.De}\n"));

    [Fact]
    public void HeaderForTheOppositeDirectionSwapsTheColumnsAndIsNotAPair()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("en-de.tsv"), EnglishFirst(header: true));
        var r = ParallelCorpusReader.Read(dir.File("en-de.tsv"), "de", "en", CorpusFilterOptions.Default);
        Assert.Equal(Pairs.Select(p => (p.De, p.En)), r.Pairs.Select(p => (p.Source, p.Target)));
        Assert.DoesNotContain(r.Pairs, p => p.Source is "de" or "en");
        Assert.Contains(r.Report.Notes, n => n.Contains("column 2 is the source (de)"));
        Assert.Empty(r.Report.Warnings);

        // the same file the other way round keeps the order; regional codes and language names are headers too
        Assert.Equal(Pairs.Select(p => (p.En, p.De)), ParallelCorpusReader.Read(dir.File("en-de.tsv"), "en", "de", CorpusFilterOptions.Default).Pairs.Select(p => (p.Source, p.Target)));
        File.WriteAllText(dir.File("names.tsv"), "English\tGerman\n" + EnglishFirst(header: false));
        Assert.Equal(Pairs[0].De, ParallelCorpusReader.Read(dir.File("names.tsv"), "de", "en", CorpusFilterOptions.Default).Pairs[0].Source);
        File.WriteAllText(dir.File("regional.tsv"), "en_US\tde-DE\n" + EnglishFirst(header: false));
        Assert.Equal(Pairs[0].De, ParallelCorpusReader.Read(dir.File("regional.tsv"), "de", "en", CorpusFilterOptions.Default).Pairs[0].Source);

        // a header naming other languages is an error, not a guess
        File.WriteAllText(dir.File("fr.tsv"), "fr\ten\nBonjour\tHello\n");
        var e = Assert.Throws<AttnScopeException>(() => ParallelCorpusReader.Read(dir.File("fr.tsv"), "de", "en", CorpusFilterOptions.Default));
        Assert.Contains("'fr' and 'en'", e.Message);
    }

    [Fact]
    public void ColumnsThatLookSwappedAreWarned()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("c.tsv"), EnglishFirst(header: false));
        var swapped = ParallelCorpusReader.Read(dir.File("c.tsv"), "de", "en", CorpusFilterOptions.Default);
        var warning = Assert.Single(swapped.Report.Warnings);
        Assert.Contains("swapped", warning);
        Assert.Contains("looks like 'en'", warning);
        Assert.Empty(ParallelCorpusReader.Read(dir.File("c.tsv"), "en", "de", CorpusFilterOptions.Default).Report.Warnings);

        Assert.Equal("en", LanguageGuess.Guess(Pairs.Select(p => p.En)));
        Assert.Equal("de", LanguageGuess.Guess(Pairs.Select(p => p.De)));
        Assert.Null(LanguageGuess.Guess(["12 34", "%s %d"]));
    }

    [Fact]
    public void TrainingOnAnEnglishFirstTsvAsGermanToEnglishReadsGermanSources()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("en-de.tsv"), EnglishFirst(header: true));
        var run = dir.File("run");
        var (code, output, err) = CliTests.Run(["train", "--corpus", dir.File("en-de.tsv"), "--src", "de", "--tgt", "en", "--out", run,
            "--steps", "1", "--no-evaluate", "--layers", "1", "--d-model", "16", "--heads", "2", "--d-ff", "32", "--vocab-size", "120"]);
        Assert.True(code == 0, err + output);
        var config = RunFolder.Open(run).Config;
        Assert.Equal(("de", "en"), (config.SourceLanguage, config.TargetLanguage));
        // the probe is a held-out pair: its source is German and its reference English
        Assert.Contains((config.Probe, config.ProbeTarget), Pairs.Select(p => (p.De, p.En)));
        Assert.DoesNotContain("warning", output);
    }
}
