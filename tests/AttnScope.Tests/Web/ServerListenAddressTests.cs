using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AttnScope.Web.Server;

namespace AttnScope.Tests.Web;

/// <summary>An IPv4 address written as IPv6 (<c>::ffff:127.0.0.1</c>) is that IPv4 address: loopback, served, answered.</summary>
public sealed class ServerListenAddressTests
{
    [Theory]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task An_ipv4_mapped_loopback_host_listens_on_that_ipv4_address(string host)
    {
        await using var server = await SyntheticServer.StartAsync(new ViewerServerOptions { Host = host });
        Assert.Equal("127.0.0.1", server.Address.Host);
        using var http = new HttpClient { BaseAddress = server.Address };
        var info = await http.GetFromJsonAsync<JsonObject>("/api/info");
        Assert.NotNull(info!["model"]);
        Assert.True(ViewerServer.IsLoopback("::ffff:127.0.0.1"));
        Assert.False(ViewerServer.IsLoopback("::ffff:10.0.0.1"));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ViewerServer.ListenAddress(new ViewerServerOptions { Host = "::ffff:10.0.0.1" }));
    }
}
