namespace AttnScope.Sources.Tokenization;

/// <summary>
/// Turns text into model inputs and ids back into text, whatever the tokenizer family (BERT WordPiece, GPT-2 style
/// byte-level BPE, Llama style SentencePiece BPE).
/// </summary>
/// <remarks>
/// Offsets: every non-special token of <see cref="Encode"/> carries the UTF-16 span [Start, End) of the input it came
/// from and its <see cref="AttnScope.Capture.CaptureToken.Text"/> is that substring; special tokens have Start = End = -1.
/// Each implementation documents its own edge cases (characters split between tokens, characters the tokenizer inserts).
/// </remarks>
internal interface ITextEncoder
{
    /// <summary>A short name of the tokenizer family: "WordPiece", "byte-level BPE" or "SentencePiece BPE".</summary>
    string Kind { get; }

    /// <summary>One more than the largest id the tokenizer can produce.</summary>
    int VocabSize { get; }

    /// <summary>Inputs are cut to this many tokens (special tokens included), with a warning.</summary>
    int MaxLength { get; }

    /// <summary>The beginning-of-sequence token, when the tokenizer has one (decoder models).</summary>
    int? BosId { get; }

    /// <summary>The end-of-sequence token, when the tokenizer has one (decoder models stop generating on it).</summary>
    int? EosId { get; }

    /// <summary>Whether <see cref="Encode"/> accepts a second text (sentence pairs are a BERT notion).</summary>
    bool AcceptsPairs { get; }

    /// <summary>Encodes a text (and, where <see cref="AcceptsPairs"/>, a second one). Empty text is an error.</summary>
    EncodedInput Encode(string text, string? pair = null);

    /// <summary>The vocabulary form of a token ("##ing", "Ġworld", "▁world", "&lt;s&gt;"); "&lt;id&gt;" for ids with no entry.</summary>
    string TokenText(int id);

    /// <summary>Whether the id is a special (control) token: [CLS], &lt;s&gt;, &lt;|endoftext|&gt; and the like.</summary>
    bool IsSpecial(int id);

    /// <summary>The text the ids stand for (bytes a byte-level tokenizer cannot complete become U+FFFD).</summary>
    string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false);

    /// <summary>
    /// Starts decoding a generated continuation one id at a time; see <see cref="ContinuationDecoder"/> for what the
    /// tokens it returns hold.
    /// </summary>
    ContinuationDecoder StartContinuation();
}
