using AttnScope.Sources.Onnx;
using T = AttnScope.Tests.Tokenization.TinySentencePieceJson;

namespace AttnScope.Tests.Tokenization;

/// <summary>
/// The vocabulary of <see cref="TinySentencePieceJson"/> as a SentencePiece BPE model (tokenizer.model, protobuf
/// ModelProto): same ids, byte pieces of type BYTE, and scores that make SentencePiece merge in the JSON's merge order
/// (a merged piece scores minus its position in the list, so earlier merges win).
/// </summary>
internal static class TinySentencePieceModel
{
    private const int Normal = 1, Unknown = 2, Control = 3, BytePiece = 6;

    public static byte[] Bytes()
    {
        var w = new ProtoWriter();
        void Piece(string text, float score, int type) =>
            w.Message(1, p => p.String(1, text).Float(2, score).Int64(3, type));
        Piece("<unk>", 0, Unknown);
        Piece("<s>", 0, Control);
        Piece("</s>", 0, Control);
        for (int b = 0; b < 256; b++) Piece($"<0x{b:X2}>", 0, BytePiece);
        for (int i = 0; i < T.Pieces.Length; i++) Piece(T.Pieces[i], -i, Normal);
        // TrainerSpec: model_type BPE (2), byte_fallback, unk/bos/eos ids.
        w.Message(2, t => t.Int64(3, 2).Int64(35, 1).Int64(40, T.Unk).Int64(41, T.Bos).Int64(42, T.Eos).Int64(43, -1));
        // NormalizerSpec: identity, add_dummy_prefix, no remove_extra_whitespaces, escape_whitespaces.
        w.Message(3, n => n.String(1, "identity").Int64(3, 1).Int64(4, 0).Int64(5, 1));
        return w.ToArray();
    }
}
