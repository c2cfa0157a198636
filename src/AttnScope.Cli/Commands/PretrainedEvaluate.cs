using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Sources.Transformer.Families;
using AttnScope.Training.FineTuning;
using AttnScope.Training.Training;

namespace AttnScope.Cli;

/// <summary><c>attnscope evaluate MODEL_DIR|hf:ID [--corpus PATH]</c>: held-out BLEU of a Marian or T5 model. A folder made
/// by <c>train --init</c> scores its own held-out pairs (finetune.json says which, and the source prefix); any other
/// model needs --corpus.</summary>
internal static class PretrainedEvaluate
{
    public static bool Applies(string name) =>
        name.StartsWith("hf:", StringComparison.Ordinal) || Seq2SeqTranslator.IsTranslationModelFolder(name);

    public static int Run(CliOutput output, string name, string? corpus, string? src, string? tgt, string? prefix, int beam, int? limit, string? outputFile)
    {
        var folder = Seq2SeqTranslator.ResolveFolder(name);
        var translator = Seq2SeqTranslator.Load(folder);
        var state = FineTuneState.Exists(folder) ? FineTuneState.Load(folder) : null;
        if (corpus is null && state is null)
            throw new AttnScopeException($"'{name}' is a pretrained model without a fine-tuning record (finetune.json): give the test set with --corpus");
        string sl = src ?? state?.SourceLanguage ?? "en", tl = tgt ?? state?.TargetLanguage ?? "de";
        var options = state?.Training ?? FineTuneRequest.Defaults;
        var test = corpus is null
            ? CorpusLoader.Load(state!.Corpus, sl, tl, options, state.Data)
            : CorpusLoader.LoadTest(corpus, sl, tl, options, state?.Data);
        foreach (var note in test.Notes) output.Note(note);
        foreach (var warning in test.Warnings) output.Warn(warning);
        output.Note(test.HeldOut);
        string sourcePrefix = prefix ?? state?.SourcePrefix ?? FineTune.DefaultPrefix(translator.Architecture, sl, tl);
        if (sourcePrefix.Length > 0) output.Note($"every source starts with the prefix \"{sourcePrefix}\"");
        var report = TranslatorEvaluation.Evaluate(translator, test.Test, beam, limit, sourcePrefix);
        output.Out.WriteLine(report.Line());
        if (outputFile is not null)
        {
            AtomicFile.WriteAllBytes(outputFile, new System.Text.UTF8Encoding(false).GetBytes(string.Concat(report.Hypotheses.Select(h => h.ReplaceLineEndings(" ") + "\n"))));
            output.Err.WriteLine($"attnscope: wrote {outputFile}: {report.Hypotheses.Count} translations, one a line in test-set order");
        }
        return 0;
    }
}
