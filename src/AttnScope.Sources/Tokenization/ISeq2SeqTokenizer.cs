namespace AttnScope.Sources.Tokenization;

/// <summary>One encoded side of a translation pair: ids (ending in &lt;/s&gt;) and the piece each id stands for.</summary>
internal sealed record EncodedText(int[] Ids, string[] Pieces);

/// <summary>
/// What an encoder-decoder's tokenizer gives a translator: source and target text to ids, ids back to pieces and text.
/// Marian's (two SentencePiece models and vocab.json) and T5's (one SentencePiece model and extra ids) implement it.
/// </summary>
internal interface ISeq2SeqTokenizer
{
    /// <summary>Ids the tokenizer can produce (0 … VocabSize − 1).</summary>
    int VocabSize { get; }
    int EosId { get; }
    int PadId { get; }
    EncodedText EncodeSource(string text);
    EncodedText EncodeTarget(string text);
    /// <summary>The piece of an id (for labels); "&lt;id&gt;" when it has none.</summary>
    string TokenText(int id);
    bool IsSpecial(int id);
    /// <summary>Produced ids back to text, special tokens dropped.</summary>
    string Decode(IEnumerable<int> ids);
}
