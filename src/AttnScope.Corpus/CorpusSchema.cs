namespace AttnScope.Corpus;

/// <summary>
/// The tables of a corpus database (docs/corpus.md describes every column). A sentence's rows in every table are
/// written in one transaction together with its <c>sentences</c> row, so a line is either complete or absent.
/// </summary>
internal static class CorpusSchema
{
    /// <summary>Bumped when the tables change incompatibly.</summary>
    public const string Version = "1";

    /// <summary>The tables in creation order.</summary>
    public static readonly IReadOnlyList<string> Tables = ["corpus_info", "sentences", "head_stats", "qk_vectors", "head_attention"];

    /// <summary>The CREATE statements.</summary>
    public static string Ddl() =>
        "CREATE TABLE IF NOT EXISTS corpus_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);\n" +
        "CREATE TABLE IF NOT EXISTS sentences (line BIGINT PRIMARY KEY, text VARCHAR NOT NULL, pair VARCHAR, " +
        "n_tokens INTEGER NOT NULL, tokens VARCHAR[] NOT NULL, warnings VARCHAR);\n" +
        "CREATE TABLE IF NOT EXISTS head_stats (line BIGINT NOT NULL, layer INTEGER NOT NULL, head INTEGER NOT NULL, " +
        string.Join(", ", CorpusStatNames.All.Select(n => n + " FLOAT NOT NULL")) + ");\n" +
        "CREATE TABLE IF NOT EXISTS qk_vectors (line BIGINT NOT NULL, layer INTEGER NOT NULL, head INTEGER NOT NULL, " +
        "token INTEGER NOT NULL, query FLOAT[] NOT NULL, key FLOAT[] NOT NULL);\n" +
        "CREATE TABLE IF NOT EXISTS head_attention (line BIGINT NOT NULL, layer INTEGER NOT NULL, head INTEGER NOT NULL, " +
        "weights FLOAT[] NOT NULL);\n";
}
