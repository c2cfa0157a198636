using System.Globalization;
using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Audio;

namespace AttnScope.Training.Speech;

/// <summary>One recording of one word at 16 kHz, trimmed to its audible samples, and the split it belongs to.</summary>
internal sealed record WordRecording(string Word, float[] Samples, string Split);

/// <summary>A word of a composed clip and where it lies (seconds from the clip's start, exact by construction).</summary>
internal sealed record SpokenWord(string Word, double Start, double End);

/// <summary>A composed clip: 16 kHz samples and its words with their known times.</summary>
internal sealed record SpeechClip(float[] Samples, IReadOnlyList<SpokenWord> Words)
{
    public double Seconds => Samples.Length / (double)LogMel.SampleRate;
    public string Text => string.Join(' ', Words.Select(w => w.Word));
}

/// <summary>
/// Recordings of a small vocabulary (scripts/speech/make_word_pool.py writes them with espeak-ng: pool.json and one WAV
/// per recording), each assigned to train, valid or test. <see cref="Compose"/> joins 2–5 words with random pauses into
/// a clip whose word times are exact.
/// </summary>
internal sealed class WordPool
{
    public const string Format = "attnscope.word-pool/1";
    public static readonly string[] Splits = ["train", "valid", "test"];
    public IReadOnlyList<string> Vocabulary { get; }
    public IReadOnlyList<WordRecording> Recordings { get; }
    public string Origin { get; }
    private readonly Dictionary<string, WordRecording[]> _bySplit;

    public WordPool(IReadOnlyList<WordRecording> recordings, string origin)
    {
        ArgumentNullException.ThrowIfNull(recordings);
        if (recordings.Count == 0) throw new AttnScopeException($"{origin}: the word pool has no recordings");
        Recordings = recordings;
        Origin = origin;
        Vocabulary = recordings.Select(r => r.Word).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        foreach (var w in Vocabulary)
            if (w.Length == 0 || w.Length > 32 || !w.All(c => c is >= 'a' and <= 'z'))
                throw new AttnScopeException($"{origin}: word '{w}' is not 1–32 lower-case letters a–z");
        if (Vocabulary.Count < 2) throw new AttnScopeException($"{origin}: the word pool needs at least 2 distinct words (has {Vocabulary.Count})");
        _bySplit = Splits.ToDictionary(s => s, s => recordings.Where(r => r.Split == s).ToArray());
        foreach (var r in recordings)
        {
            if (!Splits.Contains(r.Split)) throw new AttnScopeException($"{origin}: recording of '{r.Word}' has split '{r.Split}' (train, valid or test)");
            if (r.Samples.Length < 160) throw new AttnScopeException($"{origin}: a recording of '{r.Word}' is shorter than 10 ms");
        }
    }

    public IReadOnlyList<WordRecording> Split(string split) =>
        _bySplit.TryGetValue(split, out var r) ? r : throw new AttnScopeException($"unknown split '{split}' (train, valid or test)");

    /// <summary>Reads DIR/pool.json and its WAV files (resampled to 16 kHz).</summary>
    public static WordPool Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new AttnScopeException($"word pool folder '{dir}' does not exist (make one with scripts/speech/make_word_pool.py)");
        var path = Path.Combine(dir, "pool.json");
        if (!File.Exists(path)) throw new AttnScopeException($"'{dir}' has no pool.json (make one with scripts/speech/make_word_pool.py)");
        if (new FileInfo(path).Length > 64 << 20) throw new AttnScopeException($"'{path}' is larger than 64 MiB");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new AttnScopeException($"'{path}' is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.ValueKind != JsonValueKind.String || f.GetString() != Format)
                throw new AttnScopeException($"'{path}' is not a word pool (format '{Format}')");
            if (!root.TryGetProperty("words", out var words) || words.ValueKind != JsonValueKind.Array)
                throw new AttnScopeException($"'{path}' has no 'words' array");
            var list = new List<WordRecording>();
            var full = Path.GetFullPath(dir);
            foreach (var w in words.EnumerateArray())
            {
                string Str(string key) => w.ValueKind == JsonValueKind.Object && w.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String
                    ? v.GetString()! : throw new AttnScopeException($"'{path}': an entry of 'words' has no string '{key}'");
                var file = Str("file");
                var wav = Path.GetFullPath(Path.Combine(full, file));
                if (!wav.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new AttnScopeException($"'{path}': file '{file}' lies outside the pool folder");
                var clip = Resampler.To16k(WavReader.Load(wav));
                list.Add(new WordRecording(Str("word"), clip.Samples, Str("split")));
            }
            return new WordPool(list, path);
        }
    }

    /// <summary>
    /// A pool of synthetic "words" for tests: word i is a harmonic tone whose pitch and length depend on i, each
    /// recording with its own amplitude, pitch shift and length.
    /// </summary>
    public static WordPool Synthetic(int words, int variants, int seed)
    {
        if (words is < 2 or > 26 || variants is < 3 or > 100) throw new AttnScopeException("synthetic pool: 2…26 words, 3…100 variants");
        var rng = new Random(seed);
        var list = new List<WordRecording>();
        for (int i = 0; i < words; i++)
        {
            string word = new string((char)('a' + i), 1) + "x";
            for (int v = 0; v < variants; v++)
            {
                string split = v == 0 ? "valid" : v == 1 ? "test" : "train";
                double f0 = 200 + 90 * i * (0.95 + 0.1 * rng.NextDouble());
                int n = (int)(LogMel.SampleRate * (0.12 + 0.02 * (i % 4) + 0.04 * rng.NextDouble()));
                double amp = 0.3 + 0.4 * rng.NextDouble();
                var s = new float[n];
                for (int t = 0; t < n; t++)
                {
                    double env = Math.Sin(Math.PI * (t + 0.5) / n);
                    double x = Math.Sin(2 * Math.PI * f0 * t / LogMel.SampleRate) + 0.5 * Math.Sin(2 * Math.PI * 2.5 * f0 * t / LogMel.SampleRate);
                    s[t] = (float)(amp * env * x / 1.5);
                }
                list.Add(new WordRecording(word, s, split));
            }
        }
        return new WordPool(list, "synthetic pool");
    }

    /// <summary>
    /// A clip of <paramref name="minWords"/>…<paramref name="maxWords"/> recordings of <paramref name="split"/>: silence
    /// before the first word (lead), pauses between words, silence after, all drawn at random; at most
    /// <paramref name="maxSeconds"/> long (pauses are shortened, then words dropped, to fit).
    /// </summary>
    public SpeechClip Compose(string split, Random rng, double maxSeconds, int minWords = 2, int maxWords = 5,
        double maxLead = 0.5, double minPause = 0.03, double maxPause = 0.45)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var pool = Split(split);
        if (pool.Count == 0) throw new AttnScopeException($"{Origin}: no recordings in split '{split}'");
        if (minWords < 1 || maxWords < minWords) throw new AttnScopeException($"words per clip {minWords}…{maxWords}");
        int rate = LogMel.SampleRate;
        int count = rng.Next(minWords, maxWords + 1);
        var picked = Enumerable.Range(0, count).Select(_ => pool[rng.Next(pool.Count)]).ToList();
        double lead = 0.02 + rng.NextDouble() * maxLead;
        var pauses = Enumerable.Range(0, count - 1).Select(_ => minPause + rng.NextDouble() * (maxPause - minPause)).ToArray();
        double tail = 0.02 + rng.NextDouble() * 0.2;
        double Total() => lead + tail + pauses.Sum() + picked.Sum(p => p.Samples.Length / (double)rate);
        for (int k = 0; k < 8 && Total() > maxSeconds; k++)
        {
            lead *= 0.6; tail *= 0.6;
            for (int i = 0; i < pauses.Length; i++) pauses[i] = minPause + (pauses[i] - minPause) * 0.6;
        }
        while (Total() > maxSeconds && picked.Count > 1) { picked.RemoveAt(picked.Count - 1); pauses = pauses[..Math.Max(0, picked.Count - 1)]; }
        if (Total() > maxSeconds) throw new AttnScopeException($"{Origin}: a recording of '{picked[0].Word}' does not fit a {maxSeconds.ToString("0.##", CultureInfo.InvariantCulture)} s clip");
        var samples = new List<float>((int)(Total() * rate) + 16);
        samples.AddRange(new float[(int)(lead * rate)]);
        var words = new List<SpokenWord>();
        for (int i = 0; i < picked.Count; i++)
        {
            int start = samples.Count;
            samples.AddRange(picked[i].Samples);
            words.Add(new SpokenWord(picked[i].Word, start / (double)rate, samples.Count / (double)rate));
            if (i < pauses.Length) samples.AddRange(new float[(int)(pauses[i] * rate)]);
        }
        samples.AddRange(new float[(int)(tail * rate)]);
        return new SpeechClip([.. samples], words);
    }
}
