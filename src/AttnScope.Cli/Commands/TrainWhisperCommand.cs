using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnScope.Analyses.Speech;
using AttnScope.Capture;
using AttnScope.Training.Speech;

namespace AttnScope.Cli;

/// <summary>
/// <c>attnscope train-whisper --pool DIR -o OUT</c>: trains a tiny Whisper on clips composed from a word pool
/// (scripts/speech/make_word_pool.py), chooses alignment heads on a validation split, and measures word alignment
/// against the known word times on a test split beside a uniform baseline.
/// </summary>
internal static class TrainWhisperCommand
{
    public static Command Create(CliOutput output)
    {
        var pool = new Option<string>("--pool") { Description = "word pool folder (pool.json; scripts/speech/make_word_pool.py)", Required = true };
        var outDir = new Option<string>("--output", "-o") { Description = "folder to write the model into", Required = true };
        var minutes = new Option<double>("--minutes") { Description = "training time budget", DefaultValueFactory = _ => 10 };
        var steps = new Option<int>("--steps") { Description = "at most this many optimizer steps", DefaultValueFactory = _ => 100_000 };
        var clips = new Option<int>("--clips") { Description = "training clips (composed once, reused every epoch)", DefaultValueFactory = _ => 1500 };
        var valid = new Option<int>("--valid") { Description = "validation clips (choose the alignment heads)", DefaultValueFactory = _ => 200 };
        var test = new Option<int>("--test") { Description = "test clips (measure)", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = "clips per step", DefaultValueFactory = _ => 16 };
        var rate = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 2e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var dModel = new Option<int>("--d-model") { DefaultValueFactory = _ => 128 };
        var ffn = new Option<int>("--ffn") { DefaultValueFactory = _ => 512 };
        var layers = new Option<int>("--layers") { Description = "encoder and decoder layers each", DefaultValueFactory = _ => 2 };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 4 };
        var positions = new Option<int>("--source-positions") { Description = "encoder frames (20 ms each): the window", DefaultValueFactory = _ => 200 };
        var maxHeads = new Option<int>("--max-heads") { Description = "alignment heads to choose at most", DefaultValueFactory = _ => 8 };
        var cmd = new Command("train-whisper", "Train a tiny Whisper on spoken words, choose its alignment heads and measure word alignment.")
        {
            pool, outDir, minutes, steps, clips, valid, test, batch, rate, seed, dModel, ffn, layers, heads, positions, maxHeads,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            int nTrain = r.GetValue(clips), nValid = r.GetValue(valid), nTest = r.GetValue(test), B = r.GetValue(batch);
            double budget = r.GetValue(minutes);
            if (nTrain is < 1 or > 200_000 || nValid is < 1 or > 100_000 || nTest is < 1 or > 100_000)
                throw new AttnScopeException($"--clips {nTrain}, --valid {nValid}, --test {nTest}: 1…200,000, 1…100,000, 1…100,000");
            if (B is < 1 or > 1024) throw new AttnScopeException($"--batch {B} must be 1…1024");
            if (!(budget > 0 && budget <= 24 * 60)) throw new AttnScopeException($"--minutes {budget} must be above 0 and at most 1440");
            if (r.GetValue(steps) < 1) throw new AttnScopeException($"--steps {r.GetValue(steps)} must be at least 1");
            var words = WordPool.Load(r.GetValue(pool)!);
            var shape = new TinyWhisperShape
            {
                Hidden = r.GetValue(dModel), FeedForward = r.GetValue(ffn), Layers = r.GetValue(layers), Heads = r.GetValue(heads), SourcePositions = r.GetValue(positions),
            };
            var result = Run(output, words, shape, r.GetValue(outDir)!, nTrain, nValid, nTest, B, r.GetValue(rate), budget, r.GetValue(steps), r.GetValue(seed), r.GetValue(maxHeads));
            return 0;
        }));
        return cmd;
    }

    public static JsonObject Run(CliOutput output, WordPool pool, TinyWhisperShape shape, string dir, int nTrain, int nValid, int nTest, int batchSize,
        double peak, double minutes, int maxSteps, int seed, int maxHeads)
    {
        var clock = Stopwatch.StartNew();
        var trainer = new TinyWhisperTrainer(pool.Vocabulary, shape, seed);
        var log = output.Out;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tiny Whisper: {trainer.ParameterCount:N0} trainable parameters, {pool.Vocabulary.Count} words, {pool.Recordings.Count} recordings, window {shape.WindowSeconds:0.##} s"));
        List<EncodedClip> Make(string split, int n, int s)
        {
            var rng = new Random(s);
            var list = Enumerable.Range(0, n).Select(_ => pool.Compose(split, rng, shape.WindowSeconds - 0.05)).ToList();
            return list.Select(trainer.Encode).ToList();
        }
        var train = Make("train", nTrain, seed + 100);
        var validSet = Make("valid", nValid, seed + 200);
        var testSet = Make("test", nTest, seed + 300);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"composed and encoded {nTrain} + {nValid} + {nTest} clips ({clock.Elapsed.TotalSeconds:F0} s)"));
        var rng = new Random(seed + 1);
        var order = Enumerable.Range(0, train.Count).ToArray();
        int cursor = order.Length;
        var trainClock = Stopwatch.StartNew();
        double lossSum = 0, accSum = 0; int count = 0;
        long step = 0;
        var lastReport = TimeSpan.Zero;
        while (step < maxSteps && trainClock.Elapsed.TotalMinutes < minutes)
        {
            var batch = new List<EncodedClip>(batchSize);
            while (batch.Count < batchSize)
            {
                if (cursor >= order.Length) { rng.Shuffle(order); cursor = 0; }
                batch.Add(train[order[cursor++]]);
            }
            double progress = Math.Max((double)step / maxSteps, trainClock.Elapsed.TotalMinutes / minutes);
            var (loss, acc) = trainer.Step(batch, TinyWhisperTrainer.Rate(peak, progress));
            step++;
            lossSum += loss; accSum += acc; count++;
            if (step == 1 || trainClock.Elapsed - lastReport > TimeSpan.FromSeconds(30))
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step}: loss {lossSum / count:F4}, token accuracy {accSum / count:P1} ({trainClock.Elapsed.TotalSeconds:F0} s)"));
                lossSum = accSum = 0; count = 0; lastReport = trainClock.Elapsed;
            }
        }
        double trainSeconds = trainClock.Elapsed.TotalSeconds;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {step} steps in {trainSeconds:F0} s"));
        (List<AlignmentSample> Samples, int Exact, int WordsRight, int Words) Inspect(List<EncodedClip> set)
        {
            var samples = new List<AlignmentSample>();
            int exact = 0, right = 0, words = 0;
            foreach (var c in set)
            {
                var (cross, greedy) = trainer.Inspect(c);
                if (greedy.SequenceEqual(c.WordIds)) exact++;
                for (int i = 0; i < c.WordIds.Length; i++) if (i < greedy.Length && greedy[i] == c.WordIds[i]) right++;
                words += c.WordIds.Length;
                samples.Add(new AlignmentSample(cross.Data, shape.Layers, shape.Heads, cross.Shape[2], cross.Shape[3], trainer.Vocabulary.Prompt.Length,
                    trainer.AudioFrames(c.Clip), c.Clip.Words.Select(w => (w.Start, w.End)).ToList()));
            }
            return (samples, exact, right, words);
        }
        var v = Inspect(validSet);
        var selection = AlignmentHeadSelection.Select(v.Samples, maxHeads);
        log.WriteLine("heads on the validation clips (each alone, mean |error| of starts and ends): "
            + string.Join(", ", selection.Ranking.Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.Head.Layer}.{x.Head.Head} {x.ErrorMs:F0} ms"))));
        log.WriteLine("top-k on the validation clips: " + string.Join(", ", selection.TopK.Select(x => string.Create(CultureInfo.InvariantCulture, $"k={x.K} {x.ErrorMs:F0} ms"))));
        log.WriteLine("chosen alignment heads: " + string.Join(" ", selection.Heads.Select(h => $"[{h.Layer}, {h.Head}]")));
        var t = Inspect(testSet);
        var uniform = AlignmentHeadSelection.MeasureUniform(t.Samples);
        var all = AlignmentHeadSelection.Measure(t.Samples, AlignmentHeadSelection.AllHeads(shape.Layers, shape.Heads));
        var upper = AlignmentHeadSelection.Measure(t.Samples, WordAlignment.DefaultHeads(shape.Layers, shape.Heads));
        var chosen = AlignmentHeadSelection.Measure(t.Samples, selection.Heads);
        log.WriteLine($"test clips: {nTest}; exact transcriptions {t.Exact}/{nTest} ({(double)t.Exact / nTest:P1}), words in place {t.WordsRight}/{t.Words} ({(double)t.WordsRight / t.Words:P1})");
        log.WriteLine($"  uniform baseline (words spread evenly over the true speech span): {uniform}");
        log.WriteLine($"  all heads mean:                {all}");
        log.WriteLine($"  upper-half heads (default):    {upper}");
        log.WriteLine($"  chosen heads:                  {chosen}");
        JsonObject E(TimingErrors e) => new()
        {
            ["words"] = e.Words, ["start_mean_ms"] = Math.Round(e.StartMean, 1), ["start_median_ms"] = Math.Round(e.StartMedian, 1), ["start_p90_ms"] = Math.Round(e.StartP90, 1),
            ["end_mean_ms"] = Math.Round(e.EndMean, 1), ["end_median_ms"] = Math.Round(e.EndMedian, 1), ["end_p90_ms"] = Math.Round(e.EndP90, 1),
        };
        var result = new JsonObject
        {
            ["steps"] = step, ["train_seconds"] = Math.Round(trainSeconds), ["train_clips"] = nTrain, ["valid_clips"] = nValid, ["test_clips"] = nTest,
            ["batch"] = batchSize, ["peak_lr"] = peak, ["seed"] = seed, ["parameters"] = trainer.ParameterCount,
            ["valid_exact"] = (double)v.Exact / nValid, ["test_exact"] = (double)t.Exact / nTest, ["test_words_in_place"] = (double)t.WordsRight / t.Words,
            ["alignment_heads"] = new JsonArray(selection.Heads.Select(h => (JsonNode)new JsonArray(h.Layer, h.Head)).ToArray()),
            ["head_ranking_valid_ms"] = new JsonObject(selection.Ranking.Select(x => KeyValuePair.Create($"{x.Head.Layer},{x.Head.Head}", (JsonNode?)Math.Round(x.ErrorMs, 1)))),
            ["test_uniform"] = E(uniform), ["test_all_heads"] = E(all), ["test_upper_half_heads"] = E(upper), ["test_chosen_heads"] = E(chosen),
            ["note"] = "alignment measured on the teacher-forced reference words (prompt + words + end of text), as Whisper's timing pass over a transcript",
        };
        trainer.Save(dir, selection.Heads, new JsonObject { ["command"] = "attnscope train-whisper", ["steps"] = step, ["seed"] = seed });
        File.WriteAllText(Path.Combine(dir, "alignment_results.json"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        // A few test clips with their true word times, for capture --audio and scripts/speech/alignment_error.py.
        for (int i = 0; i < Math.Min(3, testSet.Count); i++)
        {
            var c = testSet[i].Clip;
            AttnScope.Sources.Audio.WavReader.WritePcm16(Path.Combine(dir, $"test{i}.wav"), c.Samples, AttnScope.Sources.Audio.LogMel.SampleRate);
            var refWords = new JsonObject
            {
                ["words"] = new JsonArray(c.Words.Select(w => (JsonNode)new JsonObject { ["word"] = w.Word, ["start"] = Math.Round(w.Start, 4), ["end"] = Math.Round(w.End, 4) }).ToArray()),
                ["seconds"] = Math.Round(c.Seconds, 4),
            };
            File.WriteAllText(Path.Combine(dir, $"test{i}.json"), refWords.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        log.WriteLine($"wrote {dir} ({clock.Elapsed.TotalSeconds:F0} s in all)");
        return result;
    }
}
