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
        var init = new Option<string?>("--init") { Description = "continue from an earlier train-whisper folder (same pool; its shape wins over --d-model etc.); with --steps 0 only evaluates" };
        var trainWords = new Option<string>("--train-words") { Description = "words per training clip, MIN-MAX", DefaultValueFactory = _ => "2-5" };
        var noise = new Option<string>("--noise") { Description = "also measure the test clips with noise added: KIND:SNR list (white, pink)", DefaultValueFactory = _ => "white:20,white:10,pink:20,pink:10" };
        var cmd = new Command("train-whisper", "Train a tiny Whisper on spoken words, choose its alignment heads and measure word alignment.")
        {
            pool, outDir, minutes, steps, clips, valid, test, batch, rate, seed, dModel, ffn, layers, heads, positions, maxHeads, init, trainWords, noise,
        };
        cmd.SetAction(r => output.Guard(() =>
        {
            int nTrain = r.GetValue(clips), nValid = r.GetValue(valid), nTest = r.GetValue(test), B = r.GetValue(batch);
            double budget = r.GetValue(minutes);
            if (nTrain is < 1 or > 200_000 || nValid is < 1 or > 100_000 || nTest is < 1 or > 100_000)
                throw new AttnScopeException($"--clips {nTrain}, --valid {nValid}, --test {nTest}: 1…200,000, 1…100,000, 1…100,000");
            if (B is < 1 or > 1024) throw new AttnScopeException($"--batch {B} must be 1…1024");
            if (!(budget > 0 && budget <= 24 * 60)) throw new AttnScopeException($"--minutes {budget} must be above 0 and at most 1440");
            string? initDir = r.GetValue(init);
            if (r.GetValue(steps) < (initDir is null ? 1 : 0)) throw new AttnScopeException($"--steps {r.GetValue(steps)} must be at least 1 (0 only with --init)");
            var tw = r.GetValue(trainWords)!.Split('-');
            if (tw.Length != 2 || !int.TryParse(tw[0], NumberStyles.None, CultureInfo.InvariantCulture, out int minW) || !int.TryParse(tw[1], NumberStyles.None, CultureInfo.InvariantCulture, out int maxW)
                || minW < 1 || maxW < minW || maxW > 10)
                throw new AttnScopeException($"--train-words '{r.GetValue(trainWords)}' must be MIN-MAX with 1 ≤ MIN ≤ MAX ≤ 10");
            var conditions = NoiseCondition.ParseList(r.GetValue(noise));
            var words = WordPool.Load(r.GetValue(pool)!);
            var shape = new TinyWhisperShape
            {
                Hidden = r.GetValue(dModel), FeedForward = r.GetValue(ffn), Layers = r.GetValue(layers), Heads = r.GetValue(heads), SourcePositions = r.GetValue(positions),
            };
            var trainer = initDir is null ? new TinyWhisperTrainer(words.Vocabulary, shape, r.GetValue(seed)) : TinyWhisperTrainer.Load(initDir, words.Vocabulary, r.GetValue(seed));
            var result = Run(output, words, trainer, r.GetValue(outDir)!, nTrain, nValid, nTest, B, r.GetValue(rate), budget, r.GetValue(steps), r.GetValue(seed), r.GetValue(maxHeads),
                (minW, maxW), conditions, initDir);
            return 0;
        }));
        return cmd;
    }

    public static JsonObject Run(CliOutput output, WordPool pool, TinyWhisperTrainer trainer, string dir, int nTrain, int nValid, int nTest, int batchSize,
        double peak, double minutes, int maxSteps, int seed, int maxHeads, (int Min, int Max)? trainWords = null, IReadOnlyList<NoiseCondition>? noise = null, string? init = null)
    {
        var clock = Stopwatch.StartNew();
        var shape = trainer.Shape;
        var (minW, maxW) = trainWords ?? (2, 5);
        var log = output.Out;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tiny Whisper: {trainer.ParameterCount:N0} trainable parameters, {pool.Vocabulary.Count} words, {pool.Recordings.Count} recordings, window {shape.WindowSeconds:0.##} s"));
        List<EncodedClip> Make(string split, int n, int s, int lo = 2, int hi = 5)
        {
            var rng = new Random(s);
            var list = Enumerable.Range(0, n).Select(_ => pool.Compose(split, rng, shape.WindowSeconds - 0.05, lo, hi)).ToList();
            return list.Select(trainer.Encode).ToList();
        }
        var train = maxSteps > 0 ? Make("train", nTrain, seed + 100, minW, maxW) : new List<EncodedClip>();
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
        while (step < maxSteps && trainClock.Elapsed.TotalMinutes < minutes && train.Count > 0)
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
                    trainer.AudioFrames(c.Clip), c.Clip.Words.Select(w => (w.Start, w.End)).ToList(), c.FrameEnergy, c.Clip.Seconds));
            }
            return (samples, exact, right, words);
        }
        var v = Inspect(validSet);
        var choice = AlignmentEvaluation.Choose(v.Samples, maxHeads);
        var selection = choice.RawHeads;
        log.WriteLine("heads on the validation clips (each alone, raw DTW, mean |error| of starts and ends): "
            + string.Join(", ", selection.Ranking.Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.Head.Layer}.{x.Head.Head} {x.ErrorMs:F0} ms"))));
        log.WriteLine("top-k on the validation clips: " + string.Join(", ", selection.TopK.Select(x => string.Create(CultureInfo.InvariantCulture, $"k={x.K} {x.ErrorMs:F0} ms"))));
        log.WriteLine("chosen on validation: " + AlignmentEvaluation.Describe(choice));
        var t = Inspect(testSet);
        var all = AlignmentHeadSelection.Measure(t.Samples, AlignmentHeadSelection.AllHeads(shape.Layers, shape.Heads));
        var upper = AlignmentHeadSelection.Measure(t.Samples, WordAlignment.DefaultHeads(shape.Layers, shape.Heads));
        var rows = AlignmentEvaluation.Measure(t.Samples, choice);
        var chosen = rows[1].Errors;
        log.WriteLine($"test clips: {nTest}; exact transcriptions {t.Exact}/{nTest} ({(double)t.Exact / nTest:P1}), words in place {t.WordsRight}/{t.Words} ({(double)t.WordsRight / t.Words:P1})");
        log.WriteLine($"  all heads mean (raw DTW):      {all}");
        log.WriteLine($"  upper-half heads (raw DTW):    {upper}");
        foreach (var row in rows) log.WriteLine($"  {row.Name}: {row.Errors}");
        var noisy = new JsonObject();
        foreach (var cond in noise ?? [])
        {
            var noisySet = testSet.Select((c, i) => trainer.Encode(ClipNoise.Add(c.Clip, cond, seed * 7919 + i))).ToList();
            var nt = Inspect(noisySet);
            var nrows = AlignmentEvaluation.Measure(nt.Samples, choice);
            log.WriteLine($"test clips with {cond} noise: exact transcriptions {nt.Exact}/{nTest} ({(double)nt.Exact / nTest:P1})");
            foreach (var row in nrows) log.WriteLine($"  {row.Name}: {row.Errors}");
            noisy[cond.ToString()] = new JsonObject
            {
                ["test_exact"] = (double)nt.Exact / nTest,
                ["rows"] = new JsonObject(nrows.Select(x => KeyValuePair.Create(x.Name, (JsonNode?)E(x.Errors)))),
            };
        }
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
            ["test_all_heads"] = E(all), ["test_upper_half_heads"] = E(upper), ["test_chosen_heads"] = E(chosen),
            ["alignment_heads_with_heuristics"] = new JsonArray(choice.HeuristicHeads.Heads.Select(h => (JsonNode)new JsonArray(h.Layer, h.Head)).ToArray()),
            ["alignment_heads_saved"] = new JsonArray(choice.HeadsWithHeuristics.Select(h => (JsonNode)new JsonArray(h.Layer, h.Head)).ToArray()),
            ["timing_chosen_on_valid"] = choice.Timing.ToString(), ["timing_valid_ms"] = Math.Round(choice.TimingValidMs, 1),
            ["test_rows"] = new JsonObject(rows.Select(x => KeyValuePair.Create(x.Name, (JsonNode?)E(x.Errors)))),
            ["test_noise"] = noisy, ["init"] = init, ["train_words"] = $"{minW}-{maxW}",
            ["note"] = "alignment measured on the teacher-forced reference words (prompt + words + end of text), as Whisper's timing pass over a transcript",
        };
        // The folder's alignment heads are the ones for the default (heuristic) timing of speech --view align.
        trainer.Save(dir, choice.HeadsWithHeuristics, new JsonObject
        {
            ["command"] = "attnscope train-whisper", ["steps"] = trainer.Steps, ["seed"] = seed, ["init"] = init,
            ["words"] = new JsonArray(pool.Vocabulary.Select(w => (JsonNode)w).ToArray()),
        });
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
