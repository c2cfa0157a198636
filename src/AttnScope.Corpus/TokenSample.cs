namespace AttnScope.Corpus;

/// <summary>
/// Which token positions of a sentence have their query and key vectors stored: the non-special tokens, all of them
/// when there are at most <c>perSentence</c>, else that many chosen by a generator seeded with the line number (the
/// same positions on every run), in position order.
/// </summary>
internal static class TokenSample
{
    /// <summary>The positions kept for a sentence of the given tokens' specialness.</summary>
    public static int[] Positions(long line, IReadOnlyList<bool> isSpecial, int perSentence)
    {
        var candidates = Enumerable.Range(0, isSpecial.Count).Where(i => !isSpecial[i]).ToList();
        if (candidates.Count <= perSentence) return [.. candidates];
        var rng = new Random(unchecked((int)(line * 2654435761L)));
        var chosen = new List<int>(perSentence);
        for (int i = 0; i < perSentence; i++)
        {
            int j = i + rng.Next(candidates.Count - i);
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
            chosen.Add(candidates[i]);
        }
        chosen.Sort();
        return [.. chosen];
    }
}
