using AttnScope.Capture;
using AttnScope.Training.Decoding;

namespace AttnScope.Training.Evaluation;

/// <summary>
/// Translates many sentences with one loaded model: the run is read once per worker thread (a model holds its
/// working buffers, so each thread decodes with its own copy), and the sentences are shared out among the threads.
/// Results come back in input order; an empty line translates to an empty line.
/// </summary>
internal static class BatchTranslation
{
    /// <summary>Most sentences translated in one call (a line each; the input file is checked before it is read).</summary>
    public const int MaxSentences = 10_000_000;

    /// <summary>Worker threads by default: the cores, at most 16.</summary>
    public static int DefaultThreads => Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <param name="open">Makes one translator (called once per worker thread; the first may be given as <paramref name="first"/>).</param>
    /// <param name="progress">Called with (done, total) now and then, from any thread.</param>
    public static (string[] Translations, IReadOnlyList<string> Warnings) Translate(IReadOnlyList<string> sources, int beam, int threads,
        Func<Translator> open, Translator? first = null, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        bool firstUsed = false;
        Func<string, (string, IReadOnlyList<string>)> Open()
        {
            var translator = !firstUsed && first is not null ? first : open();
            firstUsed = true;
            return text => { var t = translator.Translate(text, beam); return (t.Text, t.Warnings); };
        }
        return TranslateWith(sources, threads, Open, progress, cancel);
    }

    /// <summary>
    /// As <see cref="Translate"/> for any translator: <paramref name="open"/> makes one translating function per
    /// worker thread (called on the calling thread before the work starts), which gives a sentence's text and warnings.
    /// </summary>
    public static (string[] Translations, IReadOnlyList<string> Warnings) TranslateWith(IReadOnlyList<string> sources, int threads,
        Func<Func<string, (string Text, IReadOnlyList<string> Warnings)>> open, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (sources.Count > MaxSentences) throw new AttnScopeException($"{sources.Count:N0} sentences; at most {MaxSentences:N0} are translated in one call");
        if (threads < 1) throw new AttnScopeException($"--threads must be at least 1 (got {threads})");
        var results = new string[sources.Count];
        var warnings = new List<string>();
        int next = -1, done = 0;
        int workers = Math.Max(1, Math.Min(threads, sources.Count));
        var translators = new Func<string, (string Text, IReadOnlyList<string> Warnings)>[workers];
        for (int w = 0; w < workers; w++) translators[w] = open();
        void Work(int worker)
        {
            var translate = translators[worker];
            int i;
            while ((i = Interlocked.Increment(ref next)) < sources.Count)
            {
                cancel.ThrowIfCancellationRequested();
                var text = sources[i];
                if (string.IsNullOrWhiteSpace(text)) results[i] = "";
                else
                {
                    var t = translate(text);
                    results[i] = t.Text;
                    if (t.Warnings.Count > 0)
                        lock (warnings) warnings.AddRange(t.Warnings.Select(x => $"line {i + 1}: {x}"));
                }
                int d = Interlocked.Increment(ref done);
                if (progress is not null && (d % 100 == 0 || d == sources.Count)) progress(d, sources.Count);
            }
        }
        if (workers == 1) Work(0);
        else
        {
            var tasks = Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(() => Work(w), TaskCreationOptions.LongRunning)).ToArray();
            try { Task.WaitAll(tasks); }
            catch (AggregateException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); }
        }
        return (results, warnings.OrderBy(w => int.Parse(w.AsSpan(5, w.IndexOf(':') - 5))).ToList());
    }
}
