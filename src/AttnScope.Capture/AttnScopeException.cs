namespace AttnScope.Capture;

/// <summary>
/// A user-facing error: bad input, a malformed file, an unknown model. The CLI prints its message as one line
/// and exits non-zero; it never shows a stack trace for these.
/// </summary>
public class AttnScopeException : Exception
{
    /// <summary>An error with a message for the user.</summary>
    /// <param name="message">What is wrong, in one line.</param>
    public AttnScopeException(string message) : base(message) { }
    /// <summary>An error with a message for the user and the exception that caused it.</summary>
    /// <param name="message">What is wrong, in one line.</param>
    /// <param name="inner">The underlying exception.</param>
    public AttnScopeException(string message, Exception inner) : base(message, inner) { }
}
