using System.Runtime.ExceptionServices;

namespace AttnScope.Capture;

/// <summary>
/// <see cref="Parallel.For(int, int, Action{int})"/> on every core, but a failure surfaces as the exception the work
/// threw (the first one, if several threw), not wrapped in an <see cref="AggregateException"/>: callers and the command
/// line see the same clear error a sequential loop would give.
/// </summary>
internal static class ParallelWork
{
    public static void For(int fromInclusive, int toExclusive, Action<int> body)
    {
        try
        {
            Parallel.For(fromInclusive, toExclusive, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw; // not reached
        }
    }
}
