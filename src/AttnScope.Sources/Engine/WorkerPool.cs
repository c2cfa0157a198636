using System.Diagnostics;

namespace AttnScope.Sources.Engine;

/// <summary>
/// A tiny fork-join pool for the engine's parallel loops: the calling thread plus <c>Threads − 1</c> persistent
/// background workers. Workers spin for a short while after each loop before sleeping, so the back-to-back
/// loops of one forward pass do not pay a thread wake-up each (this is what keeps small inputs fast). One loop
/// runs at a time; a loop started while another is running (another engine run, or a nested loop) simply runs
/// on its own thread.
/// </summary>
internal static class WorkerPool
{
    private sealed class Job(Action<int> body, int count)
    {
        public readonly Action<int> Body = body;
        public readonly int Count = count;
        public int Next;
        public int Done;
        public Exception? Error;

        /// <summary>Takes indices until none are left.</summary>
        public void Work()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref Next) - 1;
                if (i >= Count) return;
                try { Body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                Interlocked.Increment(ref Done);
            }
        }
    }

    private static readonly Lock Gate = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private static volatile Job? _current;
    private static int _sleepers;
    private static int _workers;
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms

    /// <summary>Runs body(0 … count−1), each index once, across the calling thread and the workers.</summary>
    public static void For(int count, Action<int> body, int threads)
    {
        if (count <= 0) return;
        if (count == 1 || threads <= 1 || !Gate.TryEnter())
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            EnsureWorkers(threads - 1);
            var job = new Job(body, count);
            _current = job;
            int sleepers = Interlocked.Exchange(ref _sleepers, 0);
            if (sleepers > 0) Wake.Release(sleepers);
            job.Work();
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Done) < count) spin.SpinOnce(sleep1Threshold: -1);
            _current = null;
            if (job.Error is not null) throw new AggregateException(job.Error);
        }
        finally { Gate.Exit(); }
    }

    private static void EnsureWorkers(int wanted)
    {
        while (_workers < wanted)
        {
            _workers++;
            new Thread(WorkerLoop) { IsBackground = true, Name = $"AttnScope engine worker {_workers}" }.Start();
        }
    }

    private static void WorkerLoop()
    {
        Job? last = null;
        while (true)
        {
            var job = _current;
            if (job is not null && job != last)
            {
                job.Work();
                last = job;
                continue;
            }
            // Spin briefly for the next loop, then sleep until one is published.
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            var spin = new SpinWait();
            while (Stopwatch.GetTimestamp() < until)
            {
                job = _current;
                if (job is not null && job != last) break;
                spin.SpinOnce(sleep1Threshold: -1);
            }
            job = _current;
            if (job is not null && job != last) continue;
            Interlocked.Increment(ref _sleepers);
            job = _current;
            if (job is not null && job != last) continue; // a stray permit later only causes one extra loop
            Wake.Wait();
        }
    }
}
