using System.Numerics.Tensors;
using AttnScope.Sources.Transformer;
using AttnScope.Training.Model;

namespace AttnScope.Training.Decoding;

/// <summary>A finished hypothesis: target ids (without BOS/EOS), its total log-probability and whether it ended in EOS.</summary>
internal sealed record Hypothesis(int[] Ids, double LogProbability, bool Finished);

/// <summary>Greedy and beam-search decoding over an <see cref="IncrementalDecoder"/>.</summary>
internal static class Search
{
    /// <summary>Length normalization of beam scores: log p / length^α (length counts the EOS).</summary>
    public const double LengthPenalty = 0.6;

    public static Hypothesis Greedy(Transformer model, int[] source, int bosId, int eosId, int maxSteps)
    {
        var decoder = new IncrementalDecoder(model.EncoderModel, model.DecoderModel, source, 1, maxSteps);
        var ids = new List<int>();
        int token = bosId;
        double logp = 0;
        while (decoder.Length < decoder.MaxSteps)
        {
            var logits = decoder.Step([token]);
            int best = TensorPrimitives.IndexOfMax(logits);
            logp += LogSoftmaxAt(logits, best);
            if (best == eosId) return new Hypothesis([.. ids], logp, true);
            ids.Add(best);
            token = best;
        }
        return new Hypothesis([.. ids], logp, false);
    }

    /// <summary>
    /// Beam search with a shrinking beam: each step keeps the best <c>beam − finished</c> continuations of all live
    /// hypotheses; those ending in EOS are set aside. Stops when <paramref name="beam"/> hypotheses have finished,
    /// none is live, or the length limit is reached; returns the best by length-normalized log-probability.
    /// With beam 1 this is exactly greedy decoding.
    /// </summary>
    public static Hypothesis Beam(Transformer model, int[] source, int bosId, int eosId, int maxSteps, int beam)
    {
        if (beam < 1) throw new ArgumentOutOfRangeException(nameof(beam), "beam size must be at least 1");
        int vocab = model.Config.VocabSize;
        var decoder = new IncrementalDecoder(model.EncoderModel, model.DecoderModel, source, beam, maxSteps);
        var live = new List<(List<int> Ids, double Score)> { ([], 0) };
        var finished = new List<Hypothesis>();
        var tokens = new int[beam];
        tokens[0] = bosId;
        var logProbs = new float[beam * vocab];
        while (live.Count > 0 && finished.Count < beam && decoder.Length < decoder.MaxSteps)
        {
            int n = live.Count;
            var logits = decoder.Step(tokens.AsSpan(0, n));
            var candidates = new List<(double Score, int From, int Token)>();
            int width = beam - finished.Count;
            for (int b = 0; b < n; b++)
            {
                var row = logProbs.AsSpan(b * vocab, vocab);
                LogSoftmax(logits.Slice(b * vocab, vocab), row);
                // the best `width` tokens of this row are the only ones that can make the overall top `width`
                foreach (var (token, lp) in TopK(row, width))
                    candidates.Add((live[b].Score + lp, b, token));
            }
            candidates.Sort((x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : (x.From, x.Token).CompareTo((y.From, y.Token)));
            var next = new List<(List<int>, double)>();
            var from = new List<int>();
            foreach (var (score, b, token) in candidates.Take(width))
            {
                if (token == eosId) finished.Add(new Hypothesis([.. live[b].Ids], score, true));
                else
                {
                    next.Add(([.. live[b].Ids, token], score));
                    from.Add(b);
                }
            }
            if (finished.Count >= beam || next.Count == 0) break;
            decoder.Reorder(from.ToArray());
            for (int i = 0; i < next.Count; i++) tokens[i] = next[i].Item1[^1];
            live = next;
        }
        if (finished.Count == 0)
            foreach (var (ids, score) in live) finished.Add(new Hypothesis([.. ids], score, false));
        return finished.MaxBy(h => Normalized(h.LogProbability, h.Ids.Length))!;
    }

    /// <summary>
    /// The model's log-probability of each given target (ids without BOS/EOS) as a translation of
    /// <paramref name="source"/>: the sum over its pieces and the closing EOS of the log-softmax of the next-token
    /// logits, read with teacher forcing on the same key/value-cached decoder beam search uses, so a target's score is
    /// the <see cref="Hypothesis.LogProbability"/> beam search would give it. The targets are decoded side by side; each
    /// must leave room for its EOS within <paramref name="maxSteps"/>.
    /// </summary>
    public static double[] Score(Transformer model, int[] source, IReadOnlyList<int[]> targets, int bosId, int eosId, int maxSteps)
    {
        ArgumentNullException.ThrowIfNull(targets);
        int n = targets.Count;
        var scores = new double[n];
        if (n == 0) return scores;
        int longest = targets.Max(t => t.Length) + 1;
        if (longest > Math.Min(maxSteps, model.Config.MaxLength))
            throw new ArgumentException($"a target of {longest - 1} pieces does not fit {Math.Min(maxSteps, model.Config.MaxLength)} decoding steps", nameof(targets));
        int vocab = model.Config.VocabSize;
        var decoder = new IncrementalDecoder(model.EncoderModel, model.DecoderModel, source, n, longest);
        var tokens = new int[n];
        Array.Fill(tokens, bosId);
        for (int t = 0; t < longest; t++)
        {
            var logits = decoder.Step(tokens);
            for (int b = 0; b < n; b++)
            {
                var target = targets[b];
                if (t > target.Length) continue; // done: its row is decoded only to keep the batch whole
                int next = t < target.Length ? target[t] : eosId;
                scores[b] += LogSoftmaxAt(logits.Slice(b * vocab, vocab), next);
                tokens[b] = next;
            }
        }
        return scores;
    }

    /// <summary>The length-normalized score beam search ranks finished hypotheses by: log p / (pieces + 1)^α.</summary>
    public static double Normalized(double logProbability, int pieces) => logProbability / Math.Pow(pieces + 1, LengthPenalty);

    private static double LogSoftmaxAt(ReadOnlySpan<float> logits, int index)
    {
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var z in logits) sum += Math.Exp(z - max);
        return logits[index] - max - Math.Log(sum);
    }

    private static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> output)
    {
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var z in logits) sum += Math.Exp(z - max);
        float logSum = (float)Math.Log(sum) + max;
        TensorPrimitives.Subtract(logits, logSum, output);
    }

    private static List<(int Token, float Value)> TopK(ReadOnlySpan<float> row, int k)
    {
        var best = new List<(int, float)>(k + 1);
        for (int i = 0; i < row.Length; i++)
        {
            float v = row[i];
            if (best.Count == k && v <= best[^1].Item2) continue;
            int pos = best.Count;
            while (pos > 0 && best[pos - 1].Item2 < v) pos--;
            best.Insert(pos, (i, v));
            if (best.Count > k) best.RemoveAt(k);
        }
        return best;
    }
}
