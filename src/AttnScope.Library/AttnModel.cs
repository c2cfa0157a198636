using AttnScope.Capture;
using AttnScope.Sources;
using AttnScope.Sources.Models;

namespace AttnScope;

/// <summary>
/// A model ready to capture attention: an encoder of the BERT family (the embedded all-MiniLM-L6-v2, a Hugging Face
/// folder or id, an ONNX export) or a decoder language model (GPT-2, Llama, Qwen and the other families the managed
/// engine runs). Load it once with <see cref="Load"/> or <see cref="LoadDefault"/>, then call <see cref="Capture"/>
/// for each text.
/// </summary>
/// <example>
/// <code>
/// using var model = AttnModel.LoadDefault();
/// var capture = model.Capture("The cat sat on the mat.");
/// capture.Save("cat.safetensors");
/// </code>
/// </example>
public sealed class AttnModel : IDisposable
{
    private readonly ModelSession? _encoder;
    private readonly DecoderSession? _decoder;

    private AttnModel(string name, ModelSession? encoder, DecoderSession? decoder)
    {
        Name = name; _encoder = encoder; _decoder = decoder;
    }

    /// <summary>The name the model was loaded by (a folder, a file, a Hugging Face id or <c>minilm</c>).</summary>
    public string Name { get; }

    /// <summary>True for a decoder language model (one causal <c>decoder</c> stack); false for an encoder (<c>encoder</c> stack).</summary>
    public bool IsDecoder => _decoder is not null;

    /// <summary>What to know about how the model was set up (for example sizes inferred from an ONNX file, not read from a config).</summary>
    public IReadOnlyList<string> Notes => _encoder?.Notes ?? [];

    /// <summary>The embedded default model, all-MiniLM-L6-v2 (6 layers, 12 heads), run by the managed engine. Needs no network.</summary>
    public static AttnModel LoadDefault() => Load(EmbeddedMiniLm.Name);

    /// <summary>
    /// Loads a model by name: <c>minilm</c> (embedded), a local folder holding <c>config.json</c> and weights, an
    /// <c>.onnx</c> file, or a Hugging Face id (downloaded once into the model cache).
    /// </summary>
    /// <param name="pathOrHubId">The folder, file or id.</param>
    /// <param name="onnxRuntime">Run an encoder with ONNX Runtime instead of the managed engine (decoders always use the managed engine).</param>
    /// <exception cref="AttnScopeException">The model cannot be found or read; the message says why.</exception>
    public static AttnModel Load(string pathOrHubId, bool onnxRuntime = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrHubId);
        var files = ModelResolver.Resolve(pathOrHubId);
        if (DecoderSession.IsDecoder(files))
        {
            if (onnxRuntime)
                throw new AttnScopeException($"ONNX Runtime runs BERT-family .onnx models; '{files.Id}' is a decoder, which the managed engine runs");
            return new AttnModel(pathOrHubId, null, DecoderSession.Open(files));
        }
        return new AttnModel(pathOrHubId, ModelSession.Open(files, onnxRuntime ? EngineKind.Onnx : EngineKind.Managed), null);
    }

    /// <summary>
    /// Runs the model on <paramref name="text"/> (and, for an encoder, the optional second sentence
    /// <paramref name="textB"/>) and returns every layer's and head's attention as a capture.
    /// </summary>
    /// <param name="text">The text; its tokens become the capture's tokens.</param>
    /// <param name="textB">A second sentence for a sentence pair (encoders only).</param>
    /// <param name="queriesKeysValues">Also record queries, keys, values and pre-softmax scores (needed by the Q·K views).</param>
    /// <returns>The capture: save it with <see cref="AttentionCapture.Save"/>, read it back with <see cref="AttentionCapture.Load(string)"/>.</returns>
    /// <exception cref="AttnScopeException">The input does not fit the model (for example too many tokens).</exception>
    public AttentionCapture Capture(string text, string? textB = null, bool queriesKeysValues = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_decoder is not null)
        {
            if (textB is not null)
                throw new AttnScopeException("a sentence pair is for encoder models; a decoder takes one text");
            return _decoder.Capture(text, queriesKeysValues);
        }
        return _encoder!.Capture(text, textB, queriesKeysValues);
    }

    /// <summary>Releases the model's engine (ONNX Runtime sessions hold native memory).</summary>
    public void Dispose() => _encoder?.Dispose();
}
