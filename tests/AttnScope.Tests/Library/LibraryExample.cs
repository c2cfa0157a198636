using AttnScope;
using AttnScope.Capture;

/// <summary>The example in docs/library.md; the doc holds this file verbatim (LibraryDocTests checks it and runs it).</summary>
public static class LibraryExample
{
    public static void Run(string folder)
    {
        using var model = AttnModel.LoadDefault();   // all-MiniLM-L6-v2, embedded: no download
        AttentionCapture capture = model.Capture("The cat sat on the mat.", "It was warm.");
        Console.WriteLine($"{capture.Tokens.Count} tokens");

        // Save the capture (safetensors) and read it back.
        string file = Path.Combine(folder, "cat.safetensors");
        capture.Save(file);
        capture = AttentionCapture.Load(file);

        // Analyses over the encoder's layers.
        var rollout = Analyze.Rollout(capture);
        var flow = Analyze.Flow(capture);
        Console.WriteLine($"rollout: {rollout.Steps} steps; flow through {flow.OutputLayer} layers");

        // Heatmaps: layer 2, head 5 as PNG; the mean of layer 5's heads as SVG.
        Render.Heatmap(capture, layer: 2, head: 5, Path.Combine(folder, "layer2-head5.png"));
        Render.Heatmap(capture, layer: 5, head: null, Path.Combine(folder, "layer5-mean.svg"));

        // The offline viewer page, with both analyses stored in the capture so the page shows them.
        capture = Analyze.WithFlow(Analyze.WithRollout(capture, rollout), flow);
        long bytes = OfflineViewer.Write(capture, Path.Combine(folder, "viewer.html"), "the cat");
        Console.WriteLine($"viewer.html: {bytes:N0} bytes");
    }
}
