namespace AttnScope.Training.Text;

/// <summary>Text encoded into sub-word ids (no BOS/EOS), with, for every piece, the index of the whitespace-split
/// word it came from (for word-level alignment), its UTF-16 span in the text, and its printable piece text.</summary>
public sealed record EncodedText(int[] Ids, int[] WordIndex, (int Start, int End)[] Offsets, string[] Pieces);

/// <summary>A joint source+target sub-word vocabulary learned from the training side, saved in a standard form that
/// Microsoft.ML.Tokenizers loads, and encoding through that library. Ids 0..3 are pad, unk, bos, eos.</summary>
public sealed class SubwordVocabulary
{
    public const int PadId = 0, UnkId = 1, BosId = 2, EosId = 3;

    public int Size => throw new NotImplementedException("built by the corpus work");

    /// <summary>Learns a vocabulary of at most <paramref name="size"/> entries from the given texts (both languages).</summary>
    public static SubwordVocabulary Learn(IEnumerable<string> texts, int size)
        => throw new NotImplementedException("built by the corpus work");

    /// <summary>Writes the vocabulary files into <paramref name="folder"/> (creating it).</summary>
    public void Save(string folder) => throw new NotImplementedException("built by the corpus work");

    /// <summary>Loads what <see cref="Save"/> wrote; a clear error if the files are missing or malformed.</summary>
    public static SubwordVocabulary Load(string folder) => throw new NotImplementedException("built by the corpus work");

    public EncodedText Encode(string text) => throw new NotImplementedException("built by the corpus work");

    /// <summary>Detokenized text; pad/bos/eos are dropped.</summary>
    public string Decode(IEnumerable<int> ids) => throw new NotImplementedException("built by the corpus work");

    /// <summary>The printable text of one piece (for capture token labels), e.g. "Hund", "##e" or "&lt;eos&gt;".</summary>
    public string PieceText(int id) => throw new NotImplementedException("built by the corpus work");
}
