using System.Text.RegularExpressions;
using AttnScope.Training.Data;

namespace AttnScope.Tests.Training;

/// <summary>One generated corpus shared by the spot checks (generation takes about a second).</summary>
public sealed class BuiltinCorpusFixture
{
    internal IReadOnlyList<ParallelPair> Train { get; }
    internal IReadOnlyList<ParallelPair> Test { get; }
    public BuiltinCorpusFixture() => (Train, Test) = BuiltinCorpus.Generate(BuiltinCorpus.DefaultSeed, 20_000, 1_000);
}

public class BuiltinCorpusTests(BuiltinCorpusFixture corpus) : IClassFixture<BuiltinCorpusFixture>
{
    private IEnumerable<ParallelPair> All => corpus.Train.Concat(corpus.Test);

    [Fact]
    public void DeterministicFromTheSeedAndTestSetIndependentOfTrainSize()
    {
        var a = BuiltinCorpus.Generate(7, 300, 50);
        var b = BuiltinCorpus.Generate(7, 300, 50);
        var c = BuiltinCorpus.Generate(8, 300, 50);
        var small = BuiltinCorpus.Generate(7, 10, 50);
        static string Dump(IReadOnlyList<ParallelPair> ps)
            => string.Join("\n", ps.Select(p => $"{p.Source}|{p.Target}|{string.Join(' ', p.Gold!.Select(g => $"{g.SourceWord}-{g.TargetWord}{(g.Sure ? "" : "p")}"))}"));
        Assert.Equal(Dump(a.Train), Dump(b.Train));
        Assert.Equal(Dump(a.Test), Dump(b.Test));
        Assert.NotEqual(Dump(a.Train), Dump(c.Train));
        Assert.Equal(Dump(a.Test), Dump(small.Test));
        Assert.Equal(300, a.Train.Count);
        Assert.Equal(50, a.Test.Count);
    }

    [Fact]
    public void TrainAndTestAreDisjointAndDistinct()
    {
        var train = corpus.Train.Select(p => p.Source).ToHashSet();
        Assert.Equal(20_000, train.Count);
        Assert.Equal(1_000, corpus.Test.Select(p => p.Source).Distinct().Count());
        Assert.DoesNotContain(corpus.Test, p => train.Contains(p.Source));
    }

    [Fact]
    public void EveryGoldLinkIndexesRealWordsAndEveryWordIsLinked()
    {
        foreach (var p in All)
        {
            var en = p.Source.Split(' ');
            var de = p.Target.Split(' ');
            Assert.InRange(en.Length, 4, 16);
            Assert.InRange(de.Length, 4, 16);
            Assert.NotNull(p.Gold);
            Assert.All(p.Gold, g =>
            {
                Assert.InRange(g.SourceWord, 0, en.Length - 1);
                Assert.InRange(g.TargetWord, 0, de.Length - 1);
            });
            Assert.Equal(p.Gold.Count, p.Gold.Select(g => (g.SourceWord, g.TargetWord)).Distinct().Count());
            for (int i = 0; i < en.Length; i++) Assert.True(p.Gold.Any(g => g.SourceWord == i), $"'{en[i]}' unlinked in: {p.Source}");
            for (int j = 0; j < de.Length; j++) Assert.True(p.Gold.Any(g => g.TargetWord == j), $"'{de[j]}' unlinked in: {p.Target}");
            Assert.True(p.Gold.Count(g => g.Sure) >= de.Length / 2, $"too few sure links: {p.Target}");
        }
    }

    [Fact]
    public void SentencesLookLikeSentences()
    {
        foreach (var p in All)
        {
            Assert.True(char.IsUpper(p.Source[0]) && char.IsUpper(p.Target[0]), p.Target);
            Assert.EndsWith(".", p.Source);
            Assert.EndsWith(".", p.Target);
            Assert.DoesNotContain("  ", p.Target);
        }
        var words = All.SelectMany(p => p.Target.Split(' ')).Select(w => w.TrimEnd('.', ',')).Distinct().Count();
        Assert.InRange(words, 200, 2000); // a few hundred lemmas, declined
    }

    // The spot checks below use German facts written out here, independently of the generator's tables.
    private static readonly Dictionary<string, (string German, char Gender, string DativePlural, string EnglishPlural)> Nouns = new()
    {
        ["dog"] = ("Hund", 'm', "Hunden", "dogs"), ["man"] = ("Mann", 'm', "Männern", "men"),
        ["cat"] = ("Katze", 'f', "Katzen", "cats"), ["woman"] = ("Frau", 'f', "Frauen", "women"),
        ["child"] = ("Kind", 'n', "Kindern", "children"), ["horse"] = ("Pferd", 'n', "Pferden", "horses"),
    };

    private int CountChecked(Regex english, Func<Match, Regex> german)
    {
        int n = 0;
        foreach (var p in All)
        {
            var m = english.Match(p.Source);
            if (!m.Success) continue;
            n++;
            var expected = german(m);
            Assert.True(expected.IsMatch(p.Target), $"'{p.Source}' → '{p.Target}' should match /{expected}/");
        }
        return n;
    }

    [Fact]
    public void DativeAfterMit()
    {
        foreach (var (en, (de, gender, datPl, enPl)) in Nouns)
        {
            string article = gender == 'f' ? "der" : "dem";
            Assert.True(CountChecked(new Regex($@"\bwith the {en}\b"), _ => new Regex($@"\bmit {article} {de}\b")) > 0, en);
            Assert.True(CountChecked(new Regex($@"\bwith the [a-z]+ {en}\b"), _ => new Regex($@"\bmit {article} \w+en {de}\b")) > 0, en);
            Assert.True(CountChecked(new Regex($@"\bwith (a|an) {en}\b"), _ => new Regex($@"\bmit {(gender == 'f' ? "einer" : "einem")} {de}\b")) > 0, en);
            Assert.True(CountChecked(new Regex($@"\bwith the {enPl}\b"), _ => new Regex($@"\bmit den {datPl}\b")) >= 0, en);
        }
        Assert.True(CountChecked(new Regex(@"\bwith the (dogs|children|men|horses)\b"), m => new Regex($@"\bmit den {Nouns[Singular(m.Groups[1].Value)].DativePlural}\b")) > 0);
    }

    private static string Singular(string plural) => Nouns.First(kv => kv.Value.EnglishPlural == plural).Key;

    [Fact]
    public void NominativeWithIndefiniteArticleAndAdjective()
    {
        // Mixed declension in the nominative: ein großer Hund, eine große Katze, ein großes Kind.
        var endings = new Dictionary<char, (string Article, string Ending)> { ['m'] = ("Ein", "er"), ['f'] = ("Eine", "e"), ['n'] = ("Ein", "es") };
        int n = 0;
        foreach (var (en, (de, gender, _, _)) in Nouns)
        {
            var (article, ending) = endings[gender];
            n += CountChecked(new Regex($@"^An? (big|small|old|young) {en} "), m =>
            {
                var stem = m.Groups[1].Value switch { "big" => "groß", "small" => "klein", "old" => "alt", _ => "jung" };
                return new Regex($"^{article} {stem}{ending} {de} ");
            });
        }
        Assert.True(n > 0);
    }

    [Fact]
    public void AccusativeMasculineObject()
    {
        Assert.True(CountChecked(new Regex(@"\b(sees|see) the (dog|man)\b"), m => new Regex($@"\bden {Nouns[m.Groups[2].Value].German}\b")) > 0);
        Assert.True(CountChecked(new Regex(@"\b(sees|see) the (cat|woman|child|horse)\b"), m =>
            new Regex($@"\b{(Nouns[m.Groups[2].Value].Gender == 'f' ? "die" : "das")} {Nouns[m.Groups[2].Value].German}\b")) > 0);
    }

    [Fact]
    public void VerbFinalAfterWeilAndDass()
    {
        Assert.True(CountChecked(new Regex(@"\bbecause (the|a|my) (dog|man) sleeps\."), m =>
            new Regex($@", weil (der|ein|mein) {Nouns[m.Groups[2].Value].German} (\w+ )*schläft\.$")) > 0);
        Assert.True(CountChecked(new Regex(@" that the (cat|woman) (reads|sees|likes) "), m =>
            new Regex($@", dass die {Nouns[m.Groups[1].Value].German} .*\b{m.Groups[2].Value switch { "reads" => "liest", "sees" => "sieht", _ => "mag" }}\.$")) > 0);
    }

    [Fact]
    public void SeparableVerbsSplitInMainClausesAndJoinInSubordinateOnes()
    {
        // A one-clause sentence with "calls": "ruft" second, "an" last. In a "that" clause: "anruft" last.
        Assert.True(CountChecked(new Regex(@"^(?!.*\b(because|although|when|that)\b)(The|A|My) [a-z ]*calls .*\.$"), _ => new Regex(@"^\w+ (\w+ )?\w+ ruft .* an\.$")) > 0);
        Assert.True(CountChecked(new Regex(@" that .* calls "), _ => new Regex(@", dass .* anruft\.$")) > 0);
        Assert.True(CountChecked(new Regex(@"^(?!.*\b(because|although|when|that)\b)(The|A|My) [a-z ]*picks up .*\.$"), _ => new Regex(@" holt .* ab\.$")) > 0);
    }

    [Fact]
    public void FrontedTimeAdverbPutsTheVerbSecond()
        => Assert.True(CountChecked(new Regex(@"^Today the (dog|man|cat|woman|child|horse) [a-z]+s\b"), m =>
            new Regex($@"^Heute \w+ (der|die|das) {Nouns[m.Groups[1].Value].German}\b")) > 0);

    [Fact]
    public void NumbersTakeThePluralAndThePluralVerb()
    {
        var numbers = new Dictionary<string, string> { ["Two"] = "Zwei", ["Three"] = "Drei", ["Four"] = "Vier", ["Five"] = "Fünf", ["Twelve"] = "Zwölf" };
        var plurals = new Dictionary<string, string> { ["dogs"] = "Hunde", ["cats"] = "Katzen", ["children"] = "Kinder", ["men"] = "Männer", ["women"] = "Frauen", ["horses"] = "Pferde" };
        // German third person plural present ends in -en for every verb of the grammar (sehen, schlafen, mögen, …).
        Assert.True(CountChecked(new Regex(@"^(Two|Three|Four|Five|Twelve) (dogs|cats|children|men|women|horses) [a-z]+ "), m =>
            new Regex($@"^{numbers[m.Groups[1].Value]} {plurals[m.Groups[2].Value]} \w+en\b")) > 0);
    }
}
