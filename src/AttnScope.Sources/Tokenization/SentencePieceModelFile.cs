using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// Reads the top of a SentencePiece model file (a ModelProto in protobuf wire format) to count its pieces and, where
/// the trainer spec has no beginning-of-sentence piece (<c>bos_id = -1</c>, as T5's spiece.model), gives it one so that
/// Microsoft.ML.Tokenizers can load the model (2.0 indexes the pieces by bos_id). The id given is the unknown piece's:
/// the tokenizer never adds a beginning-of-sentence token here (it is created with addBeginningOfSentence false), so
/// the segmentation is unchanged; tests check it against sentencepiece's own encoder.
/// </summary>
internal static class SentencePieceModelFile
{
    private const int PiecesField = 1, TrainerSpecField = 2, UnkIdField = 40, BosIdField = 41;

    /// <summary>The file's bytes (patched when bos_id is −1) and its number of pieces.</summary>
    public static (byte[] Bytes, int Pieces) Prepare(byte[] file, string origin)
    {
        try
        {
            var output = new List<byte>(file.Length + 16);
            int p = 0, pieces = 0;
            while (p < file.Length)
            {
                int start = p;
                ulong tag = Varint(file, ref p);
                int field = (int)(tag >> 3), wire = (int)(tag & 7);
                Skip(file, ref p, wire, out int bodyStart, out int bodyLength);
                if (field == PiecesField && wire == 2) pieces++;
                if (field == TrainerSpecField && wire == 2)
                {
                    var spec = PatchSpec(file, bodyStart, bodyLength);
                    if (spec is not null)
                    {
                        WriteVarint(output, tag);
                        WriteVarint(output, (ulong)spec.Count);
                        output.AddRange(spec);
                        continue;
                    }
                }
                output.AddRange(file.AsSpan(start, p - start));
            }
            if (pieces == 0) throw new AttnScopeException($"{origin}: no pieces in the SentencePiece model");
            return ([.. output], pieces);
        }
        catch (IndexOutOfRangeException) { throw new AttnScopeException($"{origin}: a truncated or malformed SentencePiece model"); }
        catch (ArgumentOutOfRangeException) { throw new AttnScopeException($"{origin}: a truncated or malformed SentencePiece model"); }
    }

    /// <summary>The trainer spec with bos_id set to unk_id when bos_id is −1; null when nothing needs to change.</summary>
    private static List<byte>? PatchSpec(byte[] b, int p, int length)
    {
        int end = p + length;
        long bos = 1, unk = 0; // proto2 defaults
        var kept = new List<byte>(length + 4);
        while (p < end)
        {
            int start = p;
            ulong tag = Varint(b, ref p);
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            if (wire == 0 && field is BosIdField or UnkIdField)
            {
                long value = (int)(uint)Varint(b, ref p); // int32 fields: a negative value is sign-extended to 64 bits
                if (field == BosIdField) { bos = value; continue; }
                unk = value;
            }
            else Skip(b, ref p, wire, out _, out _);
            kept.AddRange(b.AsSpan(start, p - start));
        }
        if (p != end) throw new IndexOutOfRangeException();
        if (bos >= 0) return null;
        WriteVarint(kept, BosIdField << 3);
        WriteVarint(kept, (ulong)unk);
        return kept;
    }

    private static void Skip(byte[] b, ref int p, int wire, out int bodyStart, out int bodyLength)
    {
        bodyStart = p; bodyLength = 0;
        switch (wire)
        {
            case 0: Varint(b, ref p); break;
            case 1: p += 8; break;
            case 5: p += 4; break;
            case 2:
                ulong len = Varint(b, ref p);
                if (len > (ulong)(b.Length - p)) throw new IndexOutOfRangeException();
                bodyStart = p; bodyLength = (int)len; p += (int)len;
                break;
            default: throw new IndexOutOfRangeException();
        }
        if (p > b.Length) throw new IndexOutOfRangeException();
    }

    private static ulong Varint(byte[] b, ref int p)
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte x = b[p++];
            v |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0) return v;
        }
        throw new IndexOutOfRangeException();
    }

    private static void WriteVarint(List<byte> o, ulong v)
    {
        while (v >= 0x80) { o.Add((byte)(v | 0x80)); v >>= 7; }
        o.Add((byte)v);
    }
}
