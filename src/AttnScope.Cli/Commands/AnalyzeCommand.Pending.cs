using AttnScope.Capture;

namespace AttnScope.Cli;

public static partial class AnalyzeCommand
{
    private static IEnumerable<CaptureAnalysis> RunFlow(AttentionCapture cap, AttentionStack s, Options o, CliOutput output) => [];

    private static IEnumerable<CaptureAnalysis> RunRelevance(AttentionCapture cap, Options o, CliOutput output) =>
        throw new AttnScopeException("relevance is not available yet");
}
