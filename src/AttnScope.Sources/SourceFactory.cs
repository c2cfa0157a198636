using AttnScope.Capture;
using AttnScope.Sources.Models;

namespace AttnScope.Sources;

/// <summary>Builds the attention source a user asked for from a model's files.</summary>
public static class SourceFactory
{
    public static IAttentionSource Managed(ModelFiles files, BertConfig config) => throw new AttnScopeException("managed engine not wired yet");
    public static IAttentionSource Onnx(ModelFiles files, BertConfig config) => throw new AttnScopeException("onnx engine not wired yet");
    public static BertConfig InferConfigFromOnnx(string path) => throw new AttnScopeException("not wired yet");
}
