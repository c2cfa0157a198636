using Microsoft.ML.OnnxRuntime;

namespace AttnScope.Sources.Onnx;

/// <summary>How ONNX Runtime sessions are created. The execution provider is always the CPU.</summary>
internal sealed record OnnxSessionSettings
{
    /// <summary>Threads used inside one operator; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Graph optimization level; ONNX Runtime's default is all optimizations.</summary>
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    public static OnnxSessionSettings Default { get; } = new();

    public SessionOptions CreateSessionOptions()
    {
        if (IntraOpThreads < 0) throw new Capture.AttnScopeException($"intra-op thread count must be 0 (automatic) or positive, got {IntraOpThreads}");
        var o = new SessionOptions
        {
            GraphOptimizationLevel = OptimizationLevel,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (IntraOpThreads > 0) o.IntraOpNumThreads = IntraOpThreads;
        o.InterOpNumThreads = 1;
        return o;
    }
}
