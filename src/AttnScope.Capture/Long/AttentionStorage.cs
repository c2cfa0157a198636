namespace AttnScope.Capture.Long;

/// <summary>How a long capture stores the attention rows of its chosen heads.</summary>
internal enum AttentionStorage
{
    /// <summary>float32, exact.</summary>
    F32,
    /// <summary>float16 (IEEE half): error at most p·2⁻¹¹ + 2⁻²⁵.</summary>
    F16,
    /// <summary>8-bit, square-root scale: byte q stands for (q/255)²; error at most (0.5/255)·(2√p + 0.5/255).</summary>
    U8,
}

/// <summary>Encoding and decoding of attention probabilities for each <see cref="AttentionStorage"/>.</summary>
internal static class AttentionQuantizer
{
    /// <summary>The safetensors dtype of a storage.</summary>
    public static string DType(AttentionStorage s) => s switch { AttentionStorage.F16 => "F16", AttentionStorage.U8 => "U8", _ => "F32" };

    /// <summary>Bytes per stored value.</summary>
    public static int Size(AttentionStorage s) => s switch { AttentionStorage.F16 => 2, AttentionStorage.U8 => 1, _ => 4 };

    /// <summary>The name used on the command line and in the metadata (<c>f32</c>, <c>f16</c>, <c>u8</c>).</summary>
    public static string Name(AttentionStorage s) => s.ToString().ToLowerInvariant();

    /// <summary>Parses <c>f32</c>, <c>f16</c> or <c>u8</c>.</summary>
    public static AttentionStorage Parse(string text) => text.ToLowerInvariant() switch
    {
        "f32" => AttentionStorage.F32,
        "f16" => AttentionStorage.F16,
        "u8" => AttentionStorage.U8,
        _ => throw new AttnScopeException($"unknown storage '{TokenText.Printable(text, 20)}' (expected f32, f16 or u8)"),
    };

    /// <summary>The 8-bit code of probability p: round(255·√p).</summary>
    public static byte EncodeU8(float p) => (byte)Math.Clamp((int)MathF.Round(MathF.Sqrt(Math.Max(p, 0f)) * 255f), 0, 255);

    /// <summary>The probability an 8-bit code stands for: (q/255)².</summary>
    public static float DecodeU8(byte q) { float r = q / 255f; return r * r; }

    /// <summary>Writes <paramref name="values"/> in storage <paramref name="s"/> (little-endian) into <paramref name="dst"/>.</summary>
    public static void Encode(AttentionStorage s, ReadOnlySpan<float> values, Span<byte> dst)
    {
        switch (s)
        {
            case AttentionStorage.U8:
                for (int i = 0; i < values.Length; i++) dst[i] = values[i] == 0f ? (byte)0 : EncodeU8(values[i]);
                break;
            case AttentionStorage.F16:
                for (int i = 0; i < values.Length; i++)
                    System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(dst.Slice(i * 2, 2), (Half)values[i]);
                break;
            default:
                for (int i = 0; i < values.Length; i++)
                    System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(dst.Slice(i * 4, 4), values[i]);
                break;
        }
    }

    /// <summary>Reads <paramref name="dst"/>.Length values stored as <paramref name="s"/> from <paramref name="src"/>.</summary>
    public static void Decode(AttentionStorage s, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (s)
        {
            case AttentionStorage.U8:
                for (int i = 0; i < dst.Length; i++) dst[i] = DecodeU8(src[i]);
                break;
            case AttentionStorage.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(src.Slice(i * 2, 2));
                break;
            default:
                for (int i = 0; i < dst.Length; i++) dst[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4, 4));
                break;
        }
    }
}
