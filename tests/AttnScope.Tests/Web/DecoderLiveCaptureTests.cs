using AttnScope.Capture;
using AttnScope.Tests.Core;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary><c>serve --model</c> with a decoder language model: live captures run it, pairs and ONNX are refused.</summary>
public class DecoderLiveCaptureTests
{
    [Fact]
    public async Task ADecoderModelCapturesTypedTextOnTheServer()
    {
        var folder = DecoderGoldenTests.Folder("tiny-gpt2");
        using var live = new LiveCaptures(new ViewerServerOptions { Model = folder, MaxConcurrentCaptures = 1 });
        live.OpenDefault();
        var cap = await live.CaptureAsync("the cat sat on the mat", null, "managed", CancellationToken.None);
        var stack = cap.Stack(AttentionStack.Decoder);
        Assert.Equal(cap.Tokens.Count, stack.Queries);
        Assert.NotNull(stack.Query);
        Assert.Equal("gpt2", cap.Metadata.Architecture);
        Assert.Equal(400, (await Assert.ThrowsAsync<HttpError>(() => live.CaptureAsync("the cat", "the dog", "managed", CancellationToken.None))).Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<HttpError>(() => live.CaptureAsync("the cat", null, "onnx", CancellationToken.None))).Status);
        using var small = new LiveCaptures(new ViewerServerOptions { Model = folder, MaxConcurrentCaptures = 1, MaxTokens = 4 });
        Assert.Equal(413, (await Assert.ThrowsAsync<HttpError>(() => small.CaptureAsync("the cat sat on the mat", null, "managed", CancellationToken.None))).Status);
    }
}
