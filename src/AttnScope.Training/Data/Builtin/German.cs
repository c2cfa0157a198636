namespace AttnScope.Training.Data.Builtin;

internal enum Determiner { The, A, My, Number }

/// <summary>German declension of the noun phrase: article forms and adjective endings by gender, case and number
/// (weak after der/die/das, mixed after ein/mein, strong after a bare number).</summary>
internal static class German
{
    private static int Slot(Gender g) => (int)g;

    private static readonly string[,] Definite = { { "der", "die", "das" }, { "den", "die", "das" }, { "dem", "der", "dem" } };
    private static readonly string[,] Indefinite = { { "ein", "eine", "ein" }, { "einen", "eine", "ein" }, { "einem", "einer", "einem" } };
    private static readonly string[,] WeakEnding = { { "e", "e", "e" }, { "en", "e", "e" }, { "en", "en", "en" } };
    private static readonly string[,] MixedEnding = { { "er", "e", "es" }, { "en", "e", "es" }, { "en", "en", "en" } };

    /// <summary>The article (null for a bare number plural).</summary>
    public static string? Article(Determiner d, Gender g, Case c, bool plural) => (d, plural) switch
    {
        (Determiner.The, false) => Definite[(int)c, Slot(g)],
        (Determiner.The, true) => c == Case.Dative ? "den" : "die",
        (Determiner.A, false) => Indefinite[(int)c, Slot(g)],
        (Determiner.My, false) => "m" + Indefinite[(int)c, Slot(g)],
        (Determiner.My, true) => c == Case.Dative ? "meinen" : "meine",
        (Determiner.Number, true) => null,
        _ => throw new InvalidOperationException($"no German article for {d} (plural {plural})"),
    };

    public static string AdjectiveEnding(Determiner d, Gender g, Case c, bool plural) => (d, plural) switch
    {
        (Determiner.Number, _) => c == Case.Dative ? "en" : "e",
        (_, true) => "en",
        (Determiner.The, false) => WeakEnding[(int)c, Slot(g)],
        _ => MixedEnding[(int)c, Slot(g)],
    };
}
