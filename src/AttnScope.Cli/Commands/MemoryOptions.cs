using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Fuzzy;
using AttnScope.Training.Training;

namespace AttnScope.Cli;

/// <summary>
/// <c>--memory train|FILE [--memory-candidates K]</c> of translate and evaluate: memory reranking
/// (<see cref="MemoryCandidates"/>), where the translations of the K most similar memory pairs compete with the model's.
/// </summary>
internal sealed class MemoryOptions
{
    public Option<string?> Memory { get; } = new("--memory")
    {
        Description = "memory reranking: the translations of the most similar pairs of a translation memory compete with the model's own, " +
                      "and the model's length-normalized log-probability picks one; 'train' is the run's training pairs (never its held-out ones), " +
                      "or give a corpus file in any --corpus format",
    };

    public Option<int> Candidates { get; } = new("--memory-candidates")
    {
        Description = "with --memory: how many of the most similar memory pairs compete",
        DefaultValueFactory = _ => MemoryCandidates.DefaultCount,
    };

    public IEnumerable<Option> All => [Memory, Candidates];

    /// <summary>The memory named on the command line for a run folder, or null without --memory.</summary>
    public MemoryCandidates? Load(ParseResult r, RunFolder folder, CliOutput output)
    {
        var name = r.GetValue(Memory);
        int count = r.GetValue(Candidates);
        if (name is null)
        {
            if (r.GetResult(Candidates) is { Implicit: false }) throw new AttnScopeException("--memory-candidates needs --memory train|FILE");
            return null;
        }
        if (count < 1 || count > MemoryCandidates.MaxCount) throw new AttnScopeException($"--memory-candidates {count} is out of range (1..{MemoryCandidates.MaxCount})");
        var c = folder.Config;
        var pairs = name.Equals("train", StringComparison.OrdinalIgnoreCase)
            ? CorpusLoader.Load(c.Corpus, c.SourceLanguage, c.TargetLanguage, c.Training, c.Data).Train
            : CorpusLoader.LoadTest(name, c.SourceLanguage, c.TargetLanguage, c.Training, c.Data).Test;
        if (pairs.Count == 0) throw new AttnScopeException($"the translation memory '{name}' has no pairs");
        var description = name.Equals("train", StringComparison.OrdinalIgnoreCase) ? "the run's training pairs" : $"'{name}'";
        output.Note($"memory reranking: {pairs.Count:N0} pairs of {description}; the {count} most similar to each sentence compete with the model's translation");
        return new MemoryCandidates(pairs, count) { Description = description };
    }

    /// <summary>Refuses --memory where it has no meaning (Marian models).</summary>
    public void Refuse(ParseResult r, string why)
    {
        if (r.GetValue(Memory) is not null || r.GetResult(Candidates) is { Implicit: false }) throw new AttnScopeException($"--memory {why}");
    }
}
