using AttnScope.Analyses.Speech;
using AttnScope.Sources.Audio;
using AttnScope.Training.Speech;
using Xunit.Abstractions;

namespace AttnScope.Tests.Speech;

/// <summary>
/// The committed tiny Whisper trained here on espeak-ng words (Golden/tiny-whisper-words, make_tiny_whisper_words.py):
/// on clips composed from its held-out test recordings (word times exact by construction, independent of the code under
/// test), the default word timing (DTW over the folder's alignment heads + the timing heuristics) must beat the
/// uniform baseline that is given the true speech span on word starts (mean and median) and end medians; raw DTW and
/// the attention-free control are computed beside it.
/// </summary>
public class TinyWhisperWordsGoldenTests(ITestOutputHelper output)
{
    internal static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-whisper-words");

    internal static List<AlignmentSample> Samples(TinyWhisperTrainer trainer, WordPool pool, int count, int seed)
    {
        var rng = new Random(seed);
        var samples = new List<AlignmentSample>();
        for (int i = 0; i < count; i++)
        {
            var clip = trainer.Encode(pool.Compose("test", rng, trainer.Shape.WindowSeconds - 0.05));
            var (cross, _) = trainer.Inspect(clip);
            samples.Add(new AlignmentSample(cross.Data, trainer.Shape.Layers, trainer.Shape.Heads, cross.Shape[2], cross.Shape[3], trainer.Vocabulary.Prompt.Length,
                trainer.AudioFrames(clip.Clip), clip.Clip.Words.Select(w => (w.Start, w.End)).ToList(), clip.FrameEnergy, clip.Clip.Seconds));
        }
        return samples;
    }

    [Fact]
    public void HeuristicTimingOfTheCommittedModelBeatsTheUniformBaselineOnHeldOutWords()
    {
        var trainer = TinyWhisperTrainer.Load(Folder);
        var pool = WordPool.Load(Path.Combine(Folder, "test-pool"));
        Assert.All(pool.Recordings, r => Assert.Equal("test", r.Split));
        var heads = WhisperModel.Load(Folder).AlignmentHeads ?? throw new InvalidOperationException("the folder names no alignment heads");
        var samples = Samples(trainer, pool, 120, 17);
        var options = new TimingOptions();
        var uniform = AlignmentHeadSelection.MeasureUniform(samples);
        var raw = AlignmentHeadSelection.Measure(samples, heads);
        var tuned = TimingErrors.Of(samples.Select(s => (AlignmentEvaluation.Times(s, heads, options), s.Truth)));
        var control = TimingErrors.Of(samples.Select(s => (TimingHeuristics.EvenOverSpeech(s.Truth.Count, s.Speech(options.Activity)), s.Truth)));
        output.WriteLine($"heads {string.Join(" ", heads)}; {options}");
        output.WriteLine($"uniform over the true span: {uniform}");
        output.WriteLine($"raw DTW:                    {raw}");
        output.WriteLine($"DTW + heuristics:           {tuned}");
        output.WriteLine($"control (no attention):     {control}");
        // Starts: mean and median below the baseline's. Ends: the median well below; the end mean is about the
        // baseline's on these clips (a few clips where DTW puts a word in the wrong pause cost hundreds of ms), so it
        // is printed, not asserted (docs/speech.md).
        Assert.True(tuned.StartMean < 0.9 * uniform.StartMean && tuned.StartMedian < uniform.StartMedian / 2 && tuned.EndMedian < uniform.EndMedian / 2,
            $"DTW + heuristics {tuned} does not beat the uniform baseline {uniform}");
        Assert.True(raw.Words == tuned.Words && raw.Mean > 0, $"raw DTW {raw}");
    }
}
