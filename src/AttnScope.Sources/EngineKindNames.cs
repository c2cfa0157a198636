using AttnScope.Capture;

namespace AttnScope.Sources;

/// <summary>The user-facing names of the engines (<c>managed</c>, <c>onnx</c>), shared by the CLI and the web server.</summary>
internal static class EngineKindNames
{
    public static IReadOnlyList<string> All { get; } = ["managed", "onnx"];

    public static EngineKind Parse(string value) => value.ToLowerInvariant() switch
    {
        "managed" => EngineKind.Managed,
        "onnx" => EngineKind.Onnx,
        _ => throw new AttnScopeException($"unknown engine '{value}' (expected managed or onnx)"),
    };
}
