using System.CommandLine;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Evaluation;
using AttnScope.Training.Training;

namespace AttnScope.Cli;

/// <summary><c>attnscope evaluate RUN [--corpus builtin|PATH] [--beam N] [--limit N] [--output FILE] [--threads N]</c>: held-out BLEU
/// and cross-attention AER; --output writes every translation, one a line in the order of the test set.</summary>
internal static class EvaluateCommand
{
    public static Command Create(CliOutput output)
    {
        var run = new Argument<string>("run") { Description = "a run folder made by 'attnscope train', or a Marian (opus-mt) or T5 folder or hf:ORG/NAME (a folder made by 'train --init' scores its held-out pairs; others need --corpus)" };
        var src = new Option<string?>("--src") { Description = "Marian and T5 models: source language code of --corpus (default: the fine-tuning's, else en)" };
        var tgt = new Option<string?>("--tgt") { Description = "Marian and T5 models: target language code of --corpus (default: the fine-tuning's, else de)" };
        var prefix = new Option<string?>("--prefix") { Description = "Marian and T5 models: text put before every source (default: the fine-tuning's; for T5 \"translate English to German: \" and the like)" };
        var corpus = new Option<string?>("--corpus") { Description = "test corpus: builtin, a .tsv/.jsonl file or a PATH prefix (default: the run's held-out set)" };
        var beam = new Option<int>("--beam") { Description = "beam size (1 = greedy)", DefaultValueFactory = _ => 1 };
        var limit = new Option<int?>("--limit") { Description = "score only the first N test sentences" };
        var outputFile = new Option<string?>("--output", "-o") { Description = "write the translations (hypotheses) to this file, one a line in test-set order" };
        var threads = new Option<int>("--threads") { Description = "sentences translated side by side (each thread holds a copy of the model)", DefaultValueFactory = _ => BatchTranslation.DefaultThreads };
        var memory = new MemoryOptions();
        var cmd = new Command("evaluate", "Print held-out BLEU and the alignment error rate of cross attention per layer.")
        {
            run, corpus, beam, limit, outputFile, threads, src, tgt, prefix,
        };
        foreach (var option in memory.All) cmd.Options.Add(option);
        cmd.SetAction(r => output.Guard(() =>
        {
            int beamSize = r.GetValue(beam);
            if (beamSize < 1 || beamSize > 64) throw new AttnScopeException($"--beam {beamSize} is out of range (1..64)");
            if (r.GetValue(limit) is < 1) throw new AttnScopeException("--limit must be at least 1");
            int threadCount = r.GetValue(threads);
            if (threadCount < 1 || threadCount > 256) throw new AttnScopeException($"--threads {threadCount} is out of range (1..256)");
            if (r.GetValue(outputFile) is { } check) AtomicFile.CheckWritable(check);
            if (PretrainedEvaluate.Applies(r.GetValue(run)!))
            {
                memory.Refuse(r, "is for run folders made by 'attnscope train', not Marian or T5 models");
                return PretrainedEvaluate.Run(output, r.GetValue(run)!, r.GetValue(corpus), r.GetValue(src), r.GetValue(tgt), r.GetValue(prefix), beamSize, r.GetValue(limit), r.GetValue(outputFile));
            }
            var folder = RunFolder.Open(r.GetValue(run)!);
            var candidates = memory.Load(r, folder, output);
            var translator = Translator.Open(folder.Path, candidates: candidates);
            if (folder.AveragedSteps() is { } averaged && translator.WeightsPath == folder.AveragedPath)
                output.Note($"scoring the averaged weights: {CheckpointAverage.Describe(averaged)} ({RunFolder.CheckpointFolder}/{RunFolder.AveragedFile})");
            var c = folder.Config;
            var name = r.GetValue(corpus);
            var test = name is null
                ? CorpusLoader.Load(c.Corpus, c.SourceLanguage, c.TargetLanguage, c.Training, c.Data)
                : CorpusLoader.LoadTest(name, c.SourceLanguage, c.TargetLanguage, c.Training, c.Data);
            foreach (var note in test.Notes) output.Note(note);
            foreach (var warning in test.Warnings) output.Warn(warning);
            output.Note(test.HeldOut);
            var report = Evaluator.Evaluate(translator, test.Test, beamSize, r.GetValue(limit), threads: threadCount, open: () => Translator.Open(folder.Path, candidates: candidates));
            foreach (var line in report.Lines()) output.Out.WriteLine(line);
            if (r.GetValue(outputFile) is { } path)
            {
                AtomicFile.WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(string.Concat(report.Hypotheses.Select(h => h.ReplaceLineEndings(" ") + "\n"))));
                output.Err.WriteLine($"attnscope: wrote {path}: {report.Hypotheses.Count} translations, one a line in test-set order");
            }
            return 0;
        }));
        return cmd;
    }
}
