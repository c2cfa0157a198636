namespace AttnScope.Training.Data.Builtin;

/// <summary>Generates one English→German sentence pair with gold word alignments from the grammar described in
/// docs/builtin-corpus.md: noun phrases declined by gender, case and number; verb-second main clauses (subject or
/// time adverbial first, or verb first after a fronted subordinate clause); verb-final subordinate clauses;
/// separable verbs whose particle goes to the end of a main clause and joins the verb in a subordinate one.</summary>
internal sealed class Grammar(Random random)
{
    public const int MaxWords = 16, MinWords = 4;

    private sealed record NounPhrase(Noun Noun, Determiner Det, Adjective? Adjective, int Number, bool Plural);

    private sealed record Clause(NounPhrase Subject, Verb Verb, NounPhrase? Object, bool Negated, Phrase? Time, NounPhrase? With, Noun? Place);

    private enum Order { SubjectFirst, TimeFirst, VerbFirst, VerbFinal }

    public ParallelPair Next()
    {
        while (true)
        {
            var pair = TryNext();
            int en = pair.Source.Split(' ').Length, de = pair.Target.Split(' ').Length;
            if (en >= MinWords && de >= MinWords && en <= MaxWords && de <= MaxWords) return pair;
        }
    }

    private ParallelPair TryNext()
    {
        var b = new SentenceBuilder();
        double r = random.NextDouble();
        if (r < 0.40)
        {
            var c = MakeClause(rich: true);
            bool front = c.Time is not null && random.NextDouble() < 0.4;
            var (en, de) = Render(b, c, front ? Order.TimeFirst : Order.SubjectFirst);
            return b.Finish(en, de);
        }
        if (r < 0.62)
        {
            var (mEn, mDe) = Lexicon.Matrix[random.Next(Lexicon.Matrix.Length)];
            var en = SentenceBuilder.Words(mEn.Split(' '));
            var de = SentenceBuilder.Words(mDe.Split(' '));
            for (int i = 0; i < en.Count; i++) b.Sure(en[i], de[i]);
            de[^1].Text += ",";
            var that = new Word("that");
            var dass = new Word("dass");
            b.Sure(that, dass);
            var (sEn, sDe) = Render(b, MakeClause(rich: false), Order.VerbFinal);
            return b.Finish([.. en, that, .. sEn], [.. de, dass, .. sDe]);
        }
        var (cEn, cDe) = Lexicon.Conjunctions[random.Next(Lexicon.Conjunctions.Length)];
        var conjEn = new Word(cEn);
        var conjDe = new Word(cDe);
        b.Sure(conjEn, conjDe);
        if (r < 0.86)
        {
            var (mainEn, mainDe) = Render(b, MakeClause(rich: false), Order.SubjectFirst);
            var (subEn, subDe) = Render(b, MakeClause(rich: false), Order.VerbFinal);
            mainDe[^1].Text += ",";
            return b.Finish([.. mainEn, conjEn, .. subEn], [.. mainDe, conjDe, .. subDe]);
        }
        else
        {
            var (subEn, subDe) = Render(b, MakeClause(rich: false), Order.VerbFinal);
            var (mainEn, mainDe) = Render(b, MakeClause(rich: false), Order.VerbFirst);
            subEn[^1].Text += ",";
            subDe[^1].Text += ",";
            return b.Finish([conjEn, .. subEn, .. mainEn], [conjDe, .. subDe, .. mainDe]);
        }
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private Clause MakeClause(bool rich)
    {
        var verb = Pick(Lexicon.Verbs);
        var subjectKind = Lexicon.AnimalSubjects.Contains(verb.En3Sg[0]) ? NounKind.Animate : NounKind.Person;
        double adjective = rich ? 0.35 : 0.2;
        var subject = MakeNounPhrase(subjectKind, adjective, definiteOnly: false, avoid: null);
        bool negated = random.NextDouble() < 0.15;
        NounPhrase? obj = verb.Object is { } kind ? MakeNounPhrase(kind, adjective, definiteOnly: negated, avoid: subject.Noun) : null;
        Phrase? time = random.NextDouble() < (rich ? 0.35 : 0.2) ? Pick(Lexicon.Times) : null;
        NounPhrase? with = null;
        Noun? place = null;
        if (!negated && random.NextDouble() < (rich ? 0.35 : 0.2))
        {
            if (random.NextDouble() < 0.5) with = MakeNounPhrase(NounKind.Animate | NounKind.Thing, adjective, false, obj?.Noun ?? subject.Noun);
            else place = Pick(Lexicon.Places);
        }
        return new Clause(subject, verb, obj, negated, time, with, place);
    }

    private NounPhrase MakeNounPhrase(NounKind kind, double adjectiveChance, bool definiteOnly, Noun? avoid)
    {
        Noun noun;
        do noun = Pick(Lexicon.Nouns);
        while ((noun.Kind & kind) == 0 || ReferenceEquals(noun, avoid));
        Adjective? adjective = null;
        if (random.NextDouble() < adjectiveChance)
        {
            do adjective = Pick(Lexicon.Adjectives);
            while (adjective.AnimateOnly && (noun.Kind & NounKind.Animate) == 0);
        }
        double r = random.NextDouble();
        if (definiteOnly)
            return r < 0.5 ? new(noun, Determiner.The, adjective, 0, false)
                : r < 0.75 ? new(noun, Determiner.My, adjective, 0, false)
                : new(noun, r < 0.9 ? Determiner.The : Determiner.My, adjective, 0, true);
        return r < 0.45 ? new(noun, Determiner.The, adjective, 0, false)
            : r < 0.65 ? new(noun, Determiner.A, adjective, 0, false)
            : r < 0.78 ? new(noun, Determiner.My, adjective, 0, false)
            : r < 0.9 ? new(noun, r < 0.85 ? Determiner.The : Determiner.My, adjective, 0, true)
            : new(noun, Determiner.Number, adjective, random.Next(Lexicon.NumbersEn.Length), true);
    }

    private static (List<Word> En, List<Word> De) RenderNounPhrase(SentenceBuilder b, NounPhrase np, Case c)
    {
        var en = new List<Word>();
        var de = new List<Word>();
        var n = np.Noun;
        string nextEn = np.Adjective?.En ?? n.En;
        string detEn = np.Det switch
        {
            Determiner.The => "the",
            Determiner.A => "aeiou".Contains(nextEn[0]) ? "an" : "a",
            Determiner.My => "my",
            _ => Lexicon.NumbersEn[np.Number],
        };
        var det = new Word(detEn);
        en.Add(det);
        var article = np.Det == Determiner.Number ? Lexicon.NumbersDe[np.Number] : German.Article(np.Det, n.Gender, c, np.Plural)!;
        var art = new Word(article);
        de.Add(art);
        b.Sure(det, art);
        if (np.Adjective is { } a)
        {
            var aEn = new Word(a.En);
            var aDe = new Word(a.DeStem + German.AdjectiveEnding(np.Det, n.Gender, c, np.Plural));
            en.Add(aEn);
            de.Add(aDe);
            b.Sure(aEn, aDe);
        }
        var nEn = new Word(np.Plural ? n.EnPlural : n.En);
        var nDe = new Word(n.German(c, np.Plural));
        en.Add(nEn);
        de.Add(nDe);
        b.Sure(nEn, nDe);
        return (en, de);
    }

    private static (List<Word> En, List<Word> De) Render(SentenceBuilder b, Clause c, Order order)
    {
        var (subjEn, subjDe) = RenderNounPhrase(b, c.Subject, Case.Nominative);
        bool plural = c.Subject.Plural;
        var v = c.Verb;

        // English verb group: [does/do not] head [second word]
        var verbEn = new List<Word>();
        Word? aux = null, not = null;
        if (c.Negated)
        {
            aux = new Word(plural ? "do" : "does");
            not = new Word("not");
            verbEn.Add(aux);
            verbEn.Add(not);
        }
        var forms = c.Negated || plural ? v.EnBase : v.En3Sg;
        var head = new Word(forms[0]);
        verbEn.Add(head);
        var rest = forms.Skip(1).Select(f => new Word(f)).ToList();
        verbEn.AddRange(rest);

        // German verb: finite (+ particle at the end of a main clause) or one verb-final word.
        string finite = plural ? v.De3Pl : v.De3Sg;
        Word finiteDe;
        Word? particle = null;
        if (order == Order.VerbFinal) finiteDe = new Word((v.Particle ?? "") + finite);
        else
        {
            finiteDe = new Word(finite);
            if (v.Particle is not null) particle = new Word(v.Particle);
        }
        b.Sure(head, finiteDe);
        foreach (var w in rest) b.Possible(w, finiteDe);
        if (aux is not null) b.Possible(aux, finiteDe);
        if (particle is not null)
        {
            b.Possible(head, particle);
            foreach (var w in rest) b.Possible(w, particle);
        }
        Word? nicht = null;
        if (not is not null)
        {
            nicht = new Word("nicht");
            b.Sure(not, nicht);
        }

        List<Word> objEn = [], objDe = [];
        if (c.Object is not null) (objEn, objDe) = RenderNounPhrase(b, c.Object, Case.Accusative);
        List<Word> timeEn = [], timeDe = [];
        if (c.Time is not null)
        {
            timeEn = SentenceBuilder.Words(c.Time.En);
            timeDe = SentenceBuilder.Words(c.Time.De);
            b.Link(c.Time, timeEn, timeDe);
        }
        List<Word> ppEn = [], ppDe = [];
        if (c.With is not null)
        {
            var with = new Word("with");
            var mit = new Word("mit");
            b.Sure(with, mit);
            var (wEn, wDe) = RenderNounPhrase(b, c.With, Case.Dative);
            ppEn = [with, .. wEn];
            ppDe = [mit, .. wDe];
        }
        else if (c.Place is { } place)
        {
            var inEn = new Word("in");
            var theEn = new Word("the");
            var placeEn = new Word(place.En);
            var placeDe = new Word(place.De);
            b.Sure(placeEn, placeDe);
            ppEn = [inEn, theEn, placeEn];
            if (place.Gender == Gender.Feminine)
            {
                var inDe = new Word("in");
                var der = new Word("der");
                b.Sure(inEn, inDe);
                b.Sure(theEn, der);
                ppDe = [inDe, der, placeDe];
            }
            else
            {
                var im = new Word("im");
                b.Sure(inEn, im);
                b.Possible(theEn, im);
                ppDe = [im, placeDe];
            }
        }

        List<Word> en = order == Order.TimeFirst
            ? [.. timeEn, .. subjEn, .. verbEn, .. objEn, .. ppEn]
            : [.. subjEn, .. verbEn, .. objEn, .. ppEn, .. timeEn];
        List<Word> middle = [.. objDe, .. (nicht is null ? [] : new[] { nicht }), .. ppDe];
        List<Word> tail = particle is null ? [] : [particle];
        List<Word> de = order switch
        {
            Order.SubjectFirst => [.. subjDe, finiteDe, .. timeDe, .. middle, .. tail],
            Order.TimeFirst => [.. timeDe, finiteDe, .. subjDe, .. middle, .. tail],
            Order.VerbFirst => [finiteDe, .. subjDe, .. timeDe, .. middle, .. tail],
            _ => [.. subjDe, .. timeDe, .. middle, finiteDe],
        };
        return (en, de);
    }
}
