using AttnScope.Tests.Support;

namespace AttnScope.Tests.Web;

/// <summary><c>attnscope html</c> and <c>attnscope serve</c> from the command line.</summary>
public class ViewerCommandsTests
{
    [Fact]
    public void HtmlCommandWritesAPageAndRefusesABadCapture()
    {
        using var dir = new TempDir();
        var capPath = dir.File("c.safetensors");
        SyntheticCaptures.Encoder(1, 2, 5).Save(capPath);
        var (code, output, err) = Cli.CliTests.Run("html", capPath, "-o", dir.File("v.html"));
        Assert.True(code == 0, err);
        Assert.Contains("wrote", output);
        Assert.Contains("class=\"attnscope-data\"", File.ReadAllText(dir.File("v.html")));
        File.WriteAllText(dir.File("bad.safetensors"), "nope");
        var (code2, _, err2) = Cli.CliTests.Run("html", dir.File("bad.safetensors"), "-o", dir.File("w.html"));
        Cli.CliTests.AssertOneLineError(code2, err2, "bad.safetensors");
        Assert.False(File.Exists(dir.File("w.html")));
    }

    [Theory]
    [InlineData(new[] { "serve", "--host", "0.0.0.0" }, "add --allow-remote")]
    [InlineData(new[] { "serve", "--host", "example.org" }, "is not an IP address")]
    [InlineData(new[] { "serve", "--captures", "/nonexistent-attnscope-folder" }, "captures folder '/nonexistent-attnscope-folder' does not exist")]
    [InlineData(new[] { "serve", "--port", "70000" }, "is not a port number")]
    [InlineData(new[] { "serve", "--host", "::ffff:10.1.2.3" }, "add --allow-remote")]
    [InlineData(new[] { "serve", "--host", "::ffff:300.1.2.3" }, "is not an IP address")]
    [InlineData(new[] { "serve", "--host", "fe80::1%nope" }, "is not an IP address")]
    [InlineData(new[] { "serve", "--max-tokens", "0" }, "--max-tokens 0 must be at least 1")]
    public void ServeRefusesBadSettingsInOneLine(string[] args, string says)
    {
        var (code, _, err) = Cli.CliTests.Run(args);
        Cli.CliTests.AssertOneLineError(code, err, says);
    }

    [Fact]
    public void ServeOnAPortInUseSaysSoInOneLine()
    {
        var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        try
        {
            int port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
            var (code, _, err) = Cli.CliTests.Run("serve", "--port", port.ToString());
            Cli.CliTests.AssertOneLineError(code, err, $"cannot listen on 127.0.0.1 port {port}");
        }
        finally { busy.Stop(); }
    }
}
