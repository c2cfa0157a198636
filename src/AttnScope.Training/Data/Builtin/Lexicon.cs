namespace AttnScope.Training.Data.Builtin;

internal enum Gender { Masculine, Feminine, Neuter }

internal enum Case { Nominative, Accusative, Dative }

/// <summary>What a noun is, so verbs pick objects that make sense.</summary>
[Flags]
internal enum NounKind
{
    Person = 1, Animal = 2, Thing = 4,
    Readable = 8, Edible = 16, Openable = 32, Tidyable = 64,
    Animate = Person | Animal,
}

/// <summary>A noun: English singular/plural, German gender, nominative singular, plural, and for weak masculine
/// nouns (der Junge → den Jungen) the accusative/dative singular. Dative plural adds -n unless the plural ends in
/// -n or -s (den Kindern, but den Frauen, den Babys).</summary>
internal sealed record Noun(string En, string EnPlural, Gender Gender, string De, string DePlural, NounKind Kind, string? DeOblique = null)
{
    public string German(Case c, bool plural)
    {
        if (plural)
            return c == Case.Dative && !DePlural.EndsWith('n') && !DePlural.EndsWith('s') ? DePlural + "n" : DePlural;
        return c != Case.Nominative && DeOblique is not null ? DeOblique : De;
    }
}

/// <summary>An adjective: English form and German stem to which the ending is added (müde → müd-e).</summary>
internal sealed record Adjective(string En, string DeStem, bool AnimateOnly = false);

/// <summary>A verb: English 3rd person singular and base form (one or two words, e.g. "picks up"), German finite
/// forms (3sg, 3pl) and the separable particle if any (ruft … an / anruft).</summary>
internal sealed record Verb(string[] En3Sg, string[] EnBase, string De3Sg, string De3Pl, string? Particle, NounKind? Object)
{
    public bool Transitive => Object is not null;
}

/// <summary>A fixed phrase (time adverbial) with its links: "0-0" sure, "1-0p" possible (English-German indices).</summary>
internal sealed record Phrase(string[] En, string[] De, (int E, int D, bool Sure)[] Links);

internal static class Lexicon
{
    private static Noun M(string en, string enPl, string de, string dePl, NounKind k, string? oblique = null) => new(en, enPl, Gender.Masculine, de, dePl, k, oblique);
    private static Noun F(string en, string enPl, string de, string dePl, NounKind k) => new(en, enPl, Gender.Feminine, de, dePl, k);
    private static Noun N(string en, string enPl, string de, string dePl, NounKind k) => new(en, enPl, Gender.Neuter, de, dePl, k);

    private const NounKind P = NounKind.Person, A = NounKind.Animal, T = NounKind.Thing;
    private const NounKind R = NounKind.Thing | NounKind.Readable, E = NounKind.Thing | NounKind.Edible;
    private const NounKind O = NounKind.Thing | NounKind.Openable, Y = NounKind.Thing | NounKind.Tidyable;

    public static readonly Noun[] Nouns =
    [
        // people
        M("man", "men", "Mann", "Männer", P), M("boy", "boys", "Junge", "Jungen", P, "Jungen"),
        M("teacher", "teachers", "Lehrer", "Lehrer", P), M("doctor", "doctors", "Arzt", "Ärzte", P),
        M("father", "fathers", "Vater", "Väter", P), M("brother", "brothers", "Bruder", "Brüder", P),
        M("friend", "friends", "Freund", "Freunde", P), M("cook", "cooks", "Koch", "Köche", P),
        M("uncle", "uncles", "Onkel", "Onkel", P), M("king", "kings", "König", "Könige", P),
        M("waiter", "waiters", "Kellner", "Kellner", P), M("driver", "drivers", "Fahrer", "Fahrer", P),
        M("baker", "bakers", "Bäcker", "Bäcker", P), M("son", "sons", "Sohn", "Söhne", P),
        M("prince", "princes", "Prinz", "Prinzen", P, "Prinzen"), M("student", "students", "Student", "Studenten", P, "Studenten"),
        M("neighbour", "neighbours", "Nachbar", "Nachbarn", P, "Nachbarn"),
        F("woman", "women", "Frau", "Frauen", P), F("mother", "mothers", "Mutter", "Mütter", P),
        F("sister", "sisters", "Schwester", "Schwestern", P), F("aunt", "aunts", "Tante", "Tanten", P),
        F("queen", "queens", "Königin", "Königinnen", P), F("daughter", "daughters", "Tochter", "Töchter", P),
        F("princess", "princesses", "Prinzessin", "Prinzessinnen", P), F("grandmother", "grandmothers", "Großmutter", "Großmütter", P),
        N("child", "children", "Kind", "Kinder", P), N("girl", "girls", "Mädchen", "Mädchen", P), N("baby", "babies", "Baby", "Babys", P),
        // animals
        M("dog", "dogs", "Hund", "Hunde", A), M("bird", "birds", "Vogel", "Vögel", A),
        M("bear", "bears", "Bär", "Bären", A, "Bären"), M("fox", "foxes", "Fuchs", "Füchse", A),
        F("cat", "cats", "Katze", "Katzen", A), F("mouse", "mice", "Maus", "Mäuse", A), F("cow", "cows", "Kuh", "Kühe", A),
        F("goat", "goats", "Ziege", "Ziegen", A), F("duck", "ducks", "Ente", "Enten", A),
        N("horse", "horses", "Pferd", "Pferde", A), N("rabbit", "rabbits", "Kaninchen", "Kaninchen", A),
        N("pig", "pigs", "Schwein", "Schweine", A), N("chicken", "chickens", "Huhn", "Hühner", A),
        // things
        M("apple", "apples", "Apfel", "Äpfel", E), M("ball", "balls", "Ball", "Bälle", T), M("letter", "letters", "Brief", "Briefe", R | O),
        M("table", "tables", "Tisch", "Tische", Y), M("chair", "chairs", "Stuhl", "Stühle", T), M("key", "keys", "Schlüssel", "Schlüssel", T),
        M("hat", "hats", "Hut", "Hüte", T), M("cake", "cakes", "Kuchen", "Kuchen", E), M("car", "cars", "Wagen", "Wagen", T),
        M("plate", "plates", "Teller", "Teller", T), M("computer", "computers", "Computer", "Computer", T), M("shoe", "shoes", "Schuh", "Schuhe", T),
        M("pen", "pens", "Stift", "Stifte", T), M("suitcase", "suitcases", "Koffer", "Koffer", O | Y), M("coat", "coats", "Mantel", "Mäntel", T),
        F("bag", "bags", "Tasche", "Taschen", O | Y), F("flower", "flowers", "Blume", "Blumen", T), F("lamp", "lamps", "Lampe", "Lampen", T),
        F("door", "doors", "Tür", "Türen", O), F("newspaper", "newspapers", "Zeitung", "Zeitungen", R), F("bottle", "bottles", "Flasche", "Flaschen", O),
        F("clock", "clocks", "Uhr", "Uhren", T), F("map", "maps", "Karte", "Karten", R), F("cup", "cups", "Tasse", "Tassen", T),
        F("jacket", "jackets", "Jacke", "Jacken", T), F("banana", "bananas", "Banane", "Bananen", E), F("pear", "pears", "Birne", "Birnen", E),
        F("box", "boxes", "Kiste", "Kisten", O | Y), F("soup", "soups", "Suppe", "Suppen", E),
        N("book", "books", "Buch", "Bücher", R | O), N("house", "houses", "Haus", "Häuser", Y), N("picture", "pictures", "Bild", "Bilder", T),
        N("bicycle", "bicycles", "Fahrrad", "Fahrräder", T), N("glass", "glasses", "Glas", "Gläser", T), N("present", "presents", "Geschenk", "Geschenke", O),
        N("song", "songs", "Lied", "Lieder", T), N("game", "games", "Spiel", "Spiele", T), N("window", "windows", "Fenster", "Fenster", O),
        N("egg", "eggs", "Ei", "Eier", E), N("notebook", "notebooks", "Heft", "Hefte", R), N("phone", "phones", "Handy", "Handys", T),
        N("room", "rooms", "Zimmer", "Zimmer", Y), N("boat", "boats", "Boot", "Boote", T), N("parcel", "parcels", "Paket", "Pakete", O),
        N("bread", "breads", "Brot", "Brote", E),
    ];

    /// <summary>Places for "in the …" (German "im" for masculine/neuter, "in der" for feminine).</summary>
    public static readonly Noun[] Places =
    [
        M("garden", "gardens", "Garten", "Gärten", T), M("park", "parks", "Park", "Parks", T), M("forest", "forests", "Wald", "Wälder", T),
        M("shop", "shops", "Laden", "Läden", T),
        F("kitchen", "kitchens", "Küche", "Küchen", T), F("city", "cities", "Stadt", "Städte", T), F("school", "schools", "Schule", "Schulen", T),
        F("street", "streets", "Straße", "Straßen", T),
        N("office", "offices", "Büro", "Büros", T), N("cinema", "cinemas", "Kino", "Kinos", T), N("village", "villages", "Dorf", "Dörfer", T),
        N("hotel", "hotels", "Hotel", "Hotels", T),
    ];

    public static readonly Adjective[] Adjectives =
    [
        new("big", "groß"), new("small", "klein"), new("old", "alt"), new("young", "jung", true), new("new", "neu"),
        new("red", "rot"), new("blue", "blau"), new("green", "grün"), new("black", "schwarz"), new("white", "weiß"),
        new("yellow", "gelb"), new("brown", "braun"), new("beautiful", "schön"), new("good", "gut"),
        new("tired", "müd", true), new("funny", "lustig", true), new("clever", "klug", true), new("fast", "schnell"),
        new("slow", "langsam"), new("quiet", "ruhig"), new("friendly", "freundlich", true), new("strong", "stark", true),
        new("cold", "kalt"), new("warm", "warm"), new("happy", "glücklich", true), new("hungry", "hungrig", true),
        new("famous", "berühmt"), new("sad", "traurig", true),
    ];

    private static Verb V(string en3, string enBase, string de3, string de3Pl, NounKind? obj, string? particle = null)
        => new(en3.Split(' '), enBase.Split(' '), de3, de3Pl, particle, obj);

    private const NounKind Any = NounKind.Animate | NounKind.Thing;

    public static readonly Verb[] Verbs =
    [
        V("sees", "see", "sieht", "sehen", Any), V("finds", "find", "findet", "finden", Any),
        V("looks for", "look for", "sucht", "suchen", Any), V("needs", "need", "braucht", "brauchen", T),
        V("buys", "buy", "kauft", "kaufen", T), V("carries", "carry", "trägt", "tragen", T),
        V("takes", "take", "nimmt", "nehmen", T), V("reads", "read", "liest", "lesen", NounKind.Readable),
        V("eats", "eat", "isst", "essen", NounKind.Edible), V("draws", "draw", "zeichnet", "zeichnen", Any),
        V("likes", "like", "mag", "mögen", Any), V("knows", "know", "kennt", "kennen", NounKind.Animate),
        V("visits", "visit", "besucht", "besuchen", P), V("loves", "love", "liebt", "lieben", NounKind.Animate),
        V("asks", "ask", "fragt", "fragen", P), V("washes", "wash", "wäscht", "waschen", Any),
        V("sells", "sell", "verkauft", "verkaufen", T), V("opens", "open", "öffnet", "öffnen", NounKind.Openable),
        V("holds", "hold", "hält", "halten", Any),
        V("calls", "call", "ruft", "rufen", P, "an"), V("invites", "invite", "lädt", "laden", P, "ein"),
        V("picks up", "pick up", "holt", "holen", Any, "ab"), V("tidies up", "tidy up", "räumt", "räumen", NounKind.Tidyable, "auf"),
        V("sleeps", "sleep", "schläft", "schlafen", null), V("laughs", "laugh", "lacht", "lachen", null),
        V("waits", "wait", "wartet", "warten", null), V("sings", "sing", "singt", "singen", null),
        V("plays", "play", "spielt", "spielen", null), V("works", "work", "arbeitet", "arbeiten", null),
        V("dances", "dance", "tanzt", "tanzen", null), V("swims", "swim", "schwimmt", "schwimmen", null),
        V("runs", "run", "läuft", "laufen", null), V("cries", "cry", "weint", "weinen", null),
        V("arrives", "arrive", "kommt", "kommen", null, "an"), V("gets up", "get up", "steht", "stehen", null, "auf"),
        V("falls asleep", "fall asleep", "schläft", "schlafen", null, "ein"), V("comes back", "come back", "kommt", "kommen", null, "zurück"),
    ];

    public static readonly string[] NumbersEn = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    public static readonly string[] NumbersDe = ["zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf", "zwölf"];

    private static readonly string[] DaysEn = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] DaysDe = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];

    private static Phrase Ph(string en, string de, string links)
        => new(en.Split(' '), de.Split(' '), links.Split(' ').Select(l =>
        {
            bool sure = !l.EndsWith('p');
            var ed = l.TrimEnd('p').Split('-');
            return (int.Parse(ed[0]), int.Parse(ed[1]), sure);
        }).ToArray());

    /// <summary>Time adverbials: the German one goes right after the finite verb (or subject) or to the front.</summary>
    public static readonly Phrase[] Times = BuildTimes();

    private static Phrase[] BuildTimes()
    {
        var list = new List<Phrase>
        {
            Ph("today", "heute", "0-0"), Ph("tomorrow", "morgen", "0-0"), Ph("now", "jetzt", "0-0"),
            Ph("every day", "jeden Tag", "0-0 1-1"), Ph("in the morning", "am Morgen", "0-0 1-0p 2-1"),
            Ph("in the evening", "am Abend", "0-0 1-0p 2-1"), Ph("at night", "in der Nacht", "0-0 0-1p 1-2"),
        };
        for (int i = 0; i < DaysEn.Length; i++) list.Add(Ph($"on {DaysEn[i]}", $"am {DaysDe[i]}", "0-0 1-1"));
        for (int i = 0; i < NumbersEn.Length; i++) list.Add(Ph($"at {NumbersEn[i]} o'clock", $"um {NumbersDe[i]} Uhr", "0-0 1-1 2-2"));
        return list.ToArray();
    }

    /// <summary>Main clauses that take a "that" clause: English subject + verb, German subject + verb.</summary>
    public static readonly (string En, string De)[] Matrix =
    [
        ("I know", "ich weiß"), ("we know", "wir wissen"), ("she says", "sie sagt"), ("he thinks", "er denkt"),
        ("they hope", "sie hoffen"), ("I believe", "ich glaube"), ("he hears", "er hört"), ("we see", "wir sehen"),
    ];

    /// <summary>Verbs (by English 3sg head word) whose subject may be an animal; the others take people.</summary>
    public static readonly HashSet<string> AnimalSubjects =
    [
        "sees", "finds", "looks", "eats", "likes", "loves", "knows", "holds", "sleeps", "waits", "plays", "swims",
        "runs", "arrives", "gets", "falls", "comes", "laughs", "cries",
    ];

    /// <summary>Subordinating conjunctions (verb-final clauses).</summary>
    public static readonly (string En, string De)[] Conjunctions = [("because", "weil"), ("although", "obwohl"), ("when", "wenn")];
}
