namespace AttnScope.Views.Animation;

/// <summary>
/// The variable-length-code LZW compression of GIF89a image data (8-bit pixel indices, codes of 9 to 12 bits,
/// LSB-first bit packing, a clear code when the code table is full), written out as data sub-blocks.
/// </summary>
internal static class GifLzw
{
    private const int MinCodeSize = 8;
    private const int ClearCode = 1 << MinCodeSize;   // 256
    private const int EndCode = ClearCode + 1;        // 257
    private const int FirstFree = ClearCode + 2;      // 258
    private const int MaxCodes = 4096;                // 12-bit codes
    private const int TableSize = 8192;               // open addressing, load factor at most 1/2

    /// <summary>Writes the LZW minimum code size byte, the compressed data in sub-blocks and the block terminator.</summary>
    public static void Write(Stream output, ReadOnlySpan<byte> indices)
    {
        output.WriteByte(MinCodeSize);
        var bits = new BitWriter(output);
        var keys = new int[TableSize];
        var codes = new short[TableSize];
        int codeSize = MinCodeSize + 1, next = FirstFree;

        void Reset()
        {
            Array.Fill(keys, -1);
            codeSize = MinCodeSize + 1;
            next = FirstFree;
        }

        Reset();
        bits.Write(ClearCode, codeSize);
        if (indices.Length == 0)
        {
            bits.Write(EndCode, codeSize);
            bits.Finish();
            return;
        }
        int prefix = indices[0];
        for (int i = 1; i < indices.Length; i++)
        {
            int c = indices[i];
            int key = (prefix << 8) | c;
            int slot = (int)((uint)(key * -1640531535) >> 19); // Fibonacci hash into 13 bits
            while (keys[slot] != -1 && keys[slot] != key) slot = (slot + 1) & (TableSize - 1);
            if (keys[slot] == key)
            {
                prefix = codes[slot];
                continue;
            }
            bits.Write(prefix, codeSize);
            if (next < MaxCodes)
            {
                keys[slot] = key;
                codes[slot] = (short)next++;
                // the decoder adds this entry one code later, and widens its codes when its table reaches 2^size
                if (next > (1 << codeSize) && codeSize < 12) codeSize++;
            }
            else
            {
                bits.Write(ClearCode, codeSize);
                Reset();
            }
            prefix = c;
        }
        bits.Write(prefix, codeSize);
        if (next == (1 << codeSize) && codeSize < 12) codeSize++; // the decoder's entry for the last code
        bits.Write(EndCode, codeSize);
        bits.Finish();
    }

    /// <summary>Packs codes LSB-first and writes them as sub-blocks of at most 255 bytes.</summary>
    private sealed class BitWriter(Stream output)
    {
        private readonly byte[] _block = new byte[256];
        private int _fill; // bytes in the current block (after the length byte)
        private uint _acc;
        private int _bits;

        public void Write(int code, int size)
        {
            _acc |= (uint)code << _bits;
            _bits += size;
            while (_bits >= 8)
            {
                Put((byte)_acc);
                _acc >>= 8;
                _bits -= 8;
            }
        }

        private void Put(byte b)
        {
            _block[1 + _fill++] = b;
            if (_fill == 255) FlushBlock();
        }

        private void FlushBlock()
        {
            if (_fill == 0) return;
            _block[0] = (byte)_fill;
            output.Write(_block, 0, _fill + 1);
            _fill = 0;
        }

        public void Finish()
        {
            if (_bits > 0) Put((byte)_acc);
            _acc = 0;
            _bits = 0;
            FlushBlock();
            output.WriteByte(0); // block terminator
        }
    }
}
