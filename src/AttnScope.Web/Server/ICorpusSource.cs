using System.Text.Json.Nodes;

namespace AttnScope.Web.Server;

/// <summary>
/// A corpus database (<c>attnscope corpus</c>) as <c>attnscope serve --corpus DB</c> reads it for the /corpus page. The
/// server knows no database: the CLI passes an implementation over the (read-only) DuckDB file. Every method may be
/// called from several requests at once; an <see cref="Capture.AttnScopeException"/> is answered as a 400.
/// </summary>
internal interface ICorpusSource
{
    /// <summary>The database file (for messages).</summary>
    string Path { get; }

    /// <summary>The model the corpus was built with (<c>corpus_info.model</c>).</summary>
    string Model { get; }

    /// <summary><c>{model, layers, heads, stats: [...], qkHeads: ["L.H", ...], sentences}</c>.</summary>
    JsonObject Describe();

    /// <summary>Histograms of <paramref name="stat"/> per layer × head: <c>{stat, min, max, bins, layers, heads,
    /// sentences, counts: [layer][head][bin], means: [layer][head]}</c>.</summary>
    JsonObject Histograms(string stat, int bins);

    /// <summary>The joint query/key embedding of a head over up to <paramref name="sentences"/> sampled sentences:
    /// points in columns (<c>x, y, key, line, token</c>) and, per line, the sentence's text and tokens (no attention).</summary>
    JsonObject Embedding(string head, string projection, int sentences);

    /// <summary>One stored sentence, or null when the line is not in the database.</summary>
    CorpusSentence? Sentence(long line);
}

/// <summary>A sentence of a corpus database: its text, second text (or null) and the tokens stored for it.</summary>
internal sealed record CorpusSentence(long Line, string Text, string? Pair, IReadOnlyList<string> Tokens);
