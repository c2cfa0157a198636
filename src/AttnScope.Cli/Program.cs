using AttnScope.Cli;

return AttnScopeCli.Run(args);

/// <summary>The tool's entry point; internal, as the CLI assembly exports no types (docs/library.md, "Public API").</summary>
internal partial class Program;
