using System.Buffers.Binary;
using AttnScope.Capture;

namespace AttnScope.Sources.Audio;

/// <summary>Mono samples in [−1, 1] (float) at a sample rate.</summary>
internal sealed record AudioClip(float[] Samples, int SampleRate)
{
    public double Seconds => (double)Samples.Length / SampleRate;
}

/// <summary>
/// Reads RIFF/WAVE files: PCM integer 16-, 24- and 32-bit, IEEE float 32-bit (also inside WAVE_FORMAT_EXTENSIBLE),
/// any channel count (mixed down to mono by the mean of the channels). Every header size is checked against the
/// file before anything is allocated; a malformed file gives one line naming what is wrong.
/// </summary>
internal static class WavReader
{
    /// <summary>Longest input read: one hour at 48 kHz (a larger file is refused before its samples are read).</summary>
    public const long MaxFrames = 48_000L * 3600;
    public const int MaxChannels = 64;

    public static AudioClip Load(string path)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"audio file '{path}' does not exist");
        using var f = File.OpenRead(path);
        return Read(f, path);
    }

    public static AudioClip Read(Stream stream, string origin)
    {
        long length = stream.CanSeek ? stream.Length - stream.Position : long.MaxValue;
        Span<byte> head = stackalloc byte[12];
        if (!ReadExactly(stream, head)) throw Bad(origin, "shorter than a RIFF header (12 bytes)");
        if (!head[..4].SequenceEqual("RIFF"u8)) throw Bad(origin, "does not start with 'RIFF' (only RIFF/WAVE files are read)");
        if (!head[8..12].SequenceEqual("WAVE"u8)) throw Bad(origin, "is a RIFF file but not WAVE");
        long pos = 12;
        int format = -1, channels = 0, rate = 0, bits = 0, blockAlign = 0;
        bool haveFmt = false;
        Span<byte> chunk = stackalloc byte[8];
        while (true)
        {
            if (!ReadExactly(stream, chunk)) throw Bad(origin, haveFmt ? "has no 'data' chunk" : "has no 'fmt ' chunk");
            pos += 8;
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
            string id = System.Text.Encoding.ASCII.GetString(chunk[..4]);
            if (id == "fmt ")
            {
                if (size < 16 || size > 1024) throw Bad(origin, $"'fmt ' chunk of {size} bytes (expected 16…1024)");
                if (size > length - pos) throw Bad(origin, $"'fmt ' chunk of {size} bytes runs past the end of the file");
                var fmt = new byte[size];
                if (!ReadExactly(stream, fmt)) throw Bad(origin, "the 'fmt ' chunk is cut short");
                pos += size;
                format = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt.AsSpan(2));
                rate = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(fmt.AsSpan(4)));
                blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt.AsSpan(12));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt.AsSpan(14));
                if (format == 0xFFFE)
                {
                    if (size < 40) throw Bad(origin, "WAVE_FORMAT_EXTENSIBLE with a 'fmt ' chunk shorter than 40 bytes");
                    format = BinaryPrimitives.ReadUInt16LittleEndian(fmt.AsSpan(24)); // the sub-format GUID starts with the format code
                }
                if ((size & 1) == 1) { Skip(stream, 1); pos++; }
                haveFmt = true;
                if (format is not (1 or 3)) throw Bad(origin, $"audio format {format} is not supported (PCM integer or IEEE float)");
                if (channels is < 1 or > MaxChannels) throw Bad(origin, $"{channels} channels (1…{MaxChannels} are read)");
                if (rate is < 1000 or > 768_000) throw Bad(origin, $"sample rate {rate} Hz (1000…768000 Hz are read)");
                bool ok = format == 1 ? bits is 16 or 24 or 32 : bits == 32;
                if (!ok) throw Bad(origin, $"{bits}-bit {(format == 1 ? "PCM" : "float")} samples are not supported (PCM 16, 24, 32-bit; float 32-bit)");
                if (blockAlign != channels * (bits / 8)) throw Bad(origin, $"block align {blockAlign} does not match {channels} channels × {bits / 8} bytes");
                continue;
            }
            if (id == "data")
            {
                if (!haveFmt) throw Bad(origin, "the 'data' chunk comes before the 'fmt ' chunk");
                long bytes = size;
                // Writers that stream audio leave the size 0 or 0xFFFFFFFF: read what the file holds.
                if ((size == 0 || size == uint.MaxValue) && stream.CanSeek) bytes = length - pos;
                if (bytes > length - pos) throw Bad(origin, $"'data' chunk of {size} bytes runs past the end of the file ({length - pos} bytes left)");
                long frames = bytes / blockAlign;
                if (frames > MaxFrames) throw Bad(origin, $"{frames} sample frames is more than the {MaxFrames} read (one hour at 48 kHz)");
                if (frames == 0) throw Bad(origin, "holds no samples");
                var raw = new byte[frames * blockAlign];
                if (!ReadExactly(stream, raw)) throw Bad(origin, "the 'data' chunk is cut short");
                return new AudioClip(Mix(raw, (int)frames, channels, bits, format == 3, origin), rate);
            }
            // Any other chunk (LIST, fact, …): skip it, padded to an even size.
            long skip = size + (size & 1);
            if (skip > length - pos) throw Bad(origin, $"chunk '{Printable(id)}' of {size} bytes runs past the end of the file");
            Skip(stream, skip);
            pos += skip;
        }
    }

    private static float[] Mix(byte[] raw, int frames, int channels, int bits, bool isFloat, string origin)
    {
        var mono = new float[frames];
        int bps = bits / 8;
        for (int i = 0; i < frames; i++)
        {
            double sum = 0;
            for (int c = 0; c < channels; c++)
            {
                var s = raw.AsSpan((i * channels + c) * bps, bps);
                double v = isFloat ? BinaryPrimitives.ReadSingleLittleEndian(s)
                    : bits == 16 ? BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0
                    : bits == 24 ? ((s[0] | (s[1] << 8) | ((sbyte)s[2] << 16))) / 8388608.0
                    : BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0;
                if (!double.IsFinite(v)) throw Bad(origin, $"sample {i} of channel {c} is {v}");
                sum += v;
            }
            mono[i] = (float)(sum / channels);
        }
        return mono;
    }

    private static string Printable(string id) => new(id.Select(ch => ch is >= ' ' and <= '~' ? ch : '?').ToArray());

    private static AttnScopeException Bad(string origin, string what) => new($"audio file '{origin}': {what}");

    private static bool ReadExactly(Stream s, Span<byte> buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Read(buffer[got..]);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }

    private static void Skip(Stream s, long n)
    {
        if (s.CanSeek) { s.Seek(n, SeekOrigin.Current); return; }
        var buf = new byte[4096];
        while (n > 0)
        {
            int r = s.Read(buf, 0, (int)Math.Min(buf.Length, n));
            if (r == 0) return;
            n -= r;
        }
    }

    /// <summary>Writes mono 16-bit PCM (tests and examples).</summary>
    public static void WritePcm16(string path, ReadOnlySpan<float> samples, int rate, int channels = 1)
    {
        using var f = File.Create(path);
        using var w = new BinaryWriter(f);
        int bytes = samples.Length * 2 * channels;
        w.Write("RIFF"u8); w.Write(36 + bytes); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)channels); w.Write(rate); w.Write(rate * 2 * channels);
        w.Write((short)(2 * channels)); w.Write((short)16);
        w.Write("data"u8); w.Write(bytes);
        foreach (var s in samples)
            for (int c = 0; c < channels; c++) w.Write((short)Math.Clamp(MathF.Round(s * 32767f), -32768, 32767));
    }
}
