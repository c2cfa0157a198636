namespace AttnScope.Capture;

/// <summary>
/// A user-facing error: bad input, a malformed file, an unknown model. The CLI prints its message as one line
/// and exits non-zero; it never shows a stack trace for these.
/// </summary>
public class AttnScopeException : Exception
{
    public AttnScopeException(string message) : base(message) { }
    public AttnScopeException(string message, Exception inner) : base(message, inner) { }
}
