namespace AttnScope.Web.Server;

/// <summary>A request the server answers with a status code and a one-line JSON error, then goes on serving.</summary>
internal sealed class HttpError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
