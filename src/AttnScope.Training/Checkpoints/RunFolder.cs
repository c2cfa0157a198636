using System.Globalization;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Capture.SafeTensors;
using AttnScope.Training.Text;

namespace AttnScope.Training.Checkpoints;

/// <summary>
/// A training run on disk: <c>config.json</c>, the tokenizer files (<c>vocab.txt</c>),
/// <c>checkpoints/step-NNNNNNN.safetensors</c>, <c>probe/step-NNNNNNN.safetensors</c> (the probe sentence's
/// attention capture at each checkpoint), <c>log.tsv</c> (loss per logged step) and, after a run with
/// <c>--average N</c>, <c>checkpoints/averaged.safetensors</c> (<see cref="CheckpointAverage"/>).
/// </summary>
internal sealed class RunFolder
{
    public const string ConfigFile = "config.json";
    public const string CheckpointFolder = "checkpoints";
    public const string ProbeFolder = "probe";

    public string Path { get; }
    public RunConfig Config { get; }

    private RunFolder(string path, RunConfig config)
    {
        Path = path;
        Config = config;
    }

    /// <summary>Where the sub-word vocabulary files live: the run folder itself.</summary>
    public string TokenizerPath => Path;
    public string LogPath => System.IO.Path.Combine(Path, "log.tsv");
    public string EvaluationPath => System.IO.Path.Combine(Path, "evaluation.json");

    /// <summary>The decoder layer whose cross attention aligned best at the last evaluation, or null.</summary>
    public int? BestAlignmentLayer()
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(EvaluationPath));
            return doc.RootElement.TryGetProperty("best_layer", out var b) && b.TryGetInt32(out var layer) && layer >= 0 && layer < Config.Model.DecoderLayers ? layer : null;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException) { return null; }
    }

    public void SaveEvaluation(string json) => AtomicFile.WriteAllBytes(EvaluationPath, System.Text.Encoding.UTF8.GetBytes(json));
    /// <summary>File name of the averaged weights in the checkpoint folder (<see cref="CheckpointAverage"/>).</summary>
    public const string AveragedFile = "averaged.safetensors";
    public string AveragedPath => System.IO.Path.Combine(Path, CheckpointFolder, AveragedFile);
    public string CheckpointPath(long step) => System.IO.Path.Combine(Path, CheckpointFolder, $"step-{step:D7}.safetensors");
    public string ProbePath(long step) => System.IO.Path.Combine(Path, ProbeFolder, $"step-{step:D7}.safetensors");

    /// <summary>True when <paramref name="path"/> is a folder with a translation run's config.json.</summary>
    public static bool IsRunFolder(string path)
    {
        var config = System.IO.Path.Combine(path, ConfigFile);
        if (!Directory.Exists(path) || !File.Exists(config)) return false;
        try { return File.ReadAllText(config).Contains(RunConfig.FormatId, StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// True when <paramref name="path"/> holds a run that never wrote its first checkpoint (a kill, a full disk or an
    /// error between creating the folder and step 0): only the files <see cref="Create"/> writes, temporary files of
    /// interrupted writes, and no checkpoint. Such a folder can be started again; nothing in it is worth keeping.
    /// </summary>
    public static bool IsUnfinished(string path)
    {
        if (!Directory.Exists(path)) return false;
        bool any = false;
        foreach (var entry in Directory.EnumerateFileSystemEntries(path))
        {
            var name = System.IO.Path.GetFileName(entry);
            if (name is CheckpointFolder or ProbeFolder)
            {
                if (!Directory.Exists(entry)) return false;
                if (Directory.EnumerateFileSystemEntries(entry).Any(e => !AtomicFile.IsTemporaryName(System.IO.Path.GetFileName(e)) || !File.Exists(e)))
                    return false;
                continue;
            }
            if (name is ConfigFile or SubwordVocabulary.VocabFileName or "log.tsv" || AtomicFile.IsTemporaryName(name))
            {
                if (!File.Exists(entry)) return false;
                any = true;
                continue;
            }
            return false;
        }
        return any;
    }

    /// <summary>
    /// Creates a new run folder. An existing folder must be empty, or hold only an unfinished run (see
    /// <see cref="IsUnfinished"/>), which is cleared first.
    /// </summary>
    public static RunFolder Create(string path, RunConfig config)
    {
        if (File.Exists(path)) throw new AttnScopeException($"'{path}' is a file, not a folder for the run");
        if (IsUnfinished(path)) Clear(path);
        if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any())
            throw new AttnScopeException($"'{path}' is not empty; give a new folder, or --resume to continue the run in it");
        Directory.CreateDirectory(path);
        Directory.CreateDirectory(System.IO.Path.Combine(path, CheckpointFolder));
        Directory.CreateDirectory(System.IO.Path.Combine(path, ProbeFolder));
        var run = new RunFolder(path, config);
        run.SaveConfig();
        return run;
    }

    /// <summary>Removes what an unfinished run left (files and folders <see cref="IsUnfinished"/> accepts).</summary>
    private static void Clear(string path)
    {
        try
        {
            foreach (var sub in new[] { CheckpointFolder, ProbeFolder })
            {
                var dir = System.IO.Path.Combine(path, sub);
                if (Directory.Exists(dir))
                {
                    foreach (var f in Directory.EnumerateFiles(dir)) File.Delete(f);
                    Directory.Delete(dir);
                }
            }
            foreach (var f in Directory.EnumerateFiles(path)) File.Delete(f);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttnScopeException($"'{path}' holds an unfinished run that could not be cleared ({e.Message}); remove the folder and start again");
        }
    }

    /// <summary>
    /// Deletes temporary files that an interrupted write (a killed checkpoint, probe or config write) left in the run
    /// folder, its checkpoints and its probes; returns how many bytes were freed. Called when a run is resumed.
    /// </summary>
    public long CleanTemporaries()
    {
        long freed = 0;
        foreach (var dir in new[] { Path, System.IO.Path.Combine(Path, CheckpointFolder), System.IO.Path.Combine(Path, ProbeFolder) })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.EnumerateFiles(dir, ".*" + AtomicFile.TemporarySuffix))
                if (AtomicFile.IsTemporaryName(System.IO.Path.GetFileName(f)))
                    try { freed += new FileInfo(f).Length; } catch (IOException) { }
            AtomicFile.CleanTemporaries(dir);
        }
        return freed;
    }

    /// <summary>The same run with a changed config, saved to config.json (e.g. a new training budget on resume).</summary>
    public RunFolder WithConfig(RunConfig config)
    {
        var run = new RunFolder(Path, config);
        run.SaveConfig();
        return run;
    }

    public void SaveConfig() => AtomicFile.WriteAllBytes(System.IO.Path.Combine(Path, ConfigFile), System.Text.Encoding.UTF8.GetBytes(Config.ToJson()));

    /// <summary>Opens an existing run; clear errors for a missing folder, config or tokenizer.</summary>
    public static RunFolder Open(string path)
    {
        if (File.Exists(path)) throw new AttnScopeException($"'{path}' is a file, not a run folder (give the folder 'attnscope train --out' made)");
        if (!Directory.Exists(path)) throw new AttnScopeException($"run folder '{path}' does not exist");
        var configPath = System.IO.Path.Combine(path, ConfigFile);
        if (!File.Exists(configPath))
            throw new AttnScopeException($"'{path}' is not a run folder: it has no {ConfigFile} (make one with 'attnscope train --out {path}')");
        var config = RunConfig.FromJson(File.ReadAllText(configPath), configPath);
        return new RunFolder(path, config);
    }

    public SubwordVocabulary LoadVocabulary()
    {
        var vocab = SubwordVocabulary.Load(TokenizerPath);
        if (vocab.Size != Config.Model.VocabSize)
            throw new AttnScopeException($"the tokenizer in '{TokenizerPath}' has {vocab.Size} entries but the model's vocabulary is {Config.Model.VocabSize}");
        return vocab;
    }

    /// <summary>Checkpoint files by step, oldest first.</summary>
    public IReadOnlyList<(long Step, string Path)> Checkpoints() => Steps(System.IO.Path.Combine(Path, CheckpointFolder));

    /// <summary>Probe captures by step, oldest first.</summary>
    public IReadOnlyList<(long Step, string Path)> Probes() => Steps(System.IO.Path.Combine(Path, ProbeFolder));

    private static List<(long, string)> Steps(string folder)
    {
        if (!Directory.Exists(folder)) return [];
        var list = new List<(long, string)>();
        foreach (var f in Directory.EnumerateFiles(folder, "step-*.safetensors"))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(f);
            if (long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var step)) list.Add((step, f));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    public string LatestCheckpoint() =>
        Checkpoints() is { Count: > 0 } list ? list[^1].Path
        : throw new AttnScopeException($"run folder '{Path}' has no checkpoint yet (in {CheckpointFolder}/): its training stopped before the first one; " +
                                       $"start it again with 'attnscope train --out {Path}' (without --resume), which replaces the unfinished run");

    /// <summary>
    /// The steps the averaged weights were made of when <c>checkpoints/averaged.safetensors</c> belongs to the run's
    /// newest checkpoint (its step is the newest checkpoint's); null when there is no such file, or it is stale
    /// (the run was resumed and has newer checkpoints) or unreadable.
    /// </summary>
    public IReadOnlyList<long>? AveragedSteps()
    {
        if (!File.Exists(AveragedPath) || Checkpoints() is not { Count: > 0 } list) return null;
        try
        {
            using var file = SafeTensorsFile.Open(AveragedPath);
            if (!file.Metadata.TryGetValue("step", out var s) || !long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var step) || step != list[^1].Step)
                return null;
            if (!file.Metadata.TryGetValue(CheckpointAverage.StepsKey, out var steps)) return null;
            var parsed = new List<long>();
            foreach (var part in steps.Split(','))
                if (long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var v)) parsed.Add(v);
                else return null;
            return parsed;
        }
        catch (Exception e) when (e is AttnScopeException or IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The weights a trained model is used with (translate, evaluate, capture): the averaged file when it
    /// belongs to the newest checkpoint (<see cref="AveragedSteps"/>), else the newest checkpoint.</summary>
    public string ModelWeights() => AveragedSteps() is not null ? AveragedPath : LatestCheckpoint();

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints.</summary>
    public void PruneCheckpoints(int keep)
    {
        var list = Checkpoints();
        for (int i = 0; i < list.Count - keep; i++)
        {
            try { File.Delete(list[i].Path); } catch (IOException) { /* keep going; an old checkpoint left behind is harmless */ }
        }
    }
}
