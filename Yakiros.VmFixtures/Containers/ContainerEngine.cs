using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using Docker.DotNet;

namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// A Docker engine that answered: its endpoint, version and the API version to speak. <see cref="ProbeAsync"/> asks
/// `GET /version` with a short deadline, so "no engine" is an answer in seconds, never a hang.
/// </summary>
public sealed record ContainerEngine(Uri Endpoint, string Version, Version ApiVersion)
{
    public const string DefaultSocket = "unix:///var/run/docker.sock";

    /// <summary>What to do when no engine answers.</summary>
    public const string HowToProvide =
        "Start a Docker engine (Debian: `sudo apt-get install docker.io` and start dockerd; `.ci/run` does this with container/engine.sh) " +
        "and point DOCKER_HOST at it if it is not at /var/run/docker.sock.";

    /// <summary>Testcontainers 4.16 speaks API 1.44 unless told otherwise; older engines need DOCKER_API_VERSION.</summary>
    private static readonly Version TestcontainersApi = new(1, 44);

    public static Uri ConfiguredEndpoint() =>
        new(Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : DefaultSocket);

    /// <summary>The engine at <paramref name="endpoint"/> (default DOCKER_HOST, or the default socket), or null with why it did not answer.</summary>
    public static async Task<(ContainerEngine? Engine, string? Problem)> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken, Uri? endpoint = null)
    {
        endpoint ??= ConfiguredEndpoint();
        if (endpoint.Scheme == "unix" && !File.Exists(endpoint.AbsolutePath))
            return (null, $"no Docker engine: there is no socket {endpoint.AbsolutePath}");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var http = Client(endpoint);
            var version = await http.GetFromJsonAsync<VersionReply>("/version", deadline.Token)
                          ?? throw new HttpRequestException("empty reply");
            return (new ContainerEngine(endpoint, version.Version ?? "?", System.Version.Parse(version.ApiVersion ?? "1.41")), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"the Docker engine at {endpoint} did not answer within {timeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or System.Text.Json.JsonException or FormatException or NotSupportedException)
        {
            return (null, $"no Docker engine answers at {endpoint} ({e.GetBaseException().Message})");
        }
    }

    private static HttpClient Client(Uri endpoint)
    {
        if (endpoint.Scheme == "unix")
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, token) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(endpoint.AbsolutePath), token);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            return new HttpClient(handler) { BaseAddress = new Uri("http://docker") };
        }
        if (endpoint.Scheme == "tcp") return new HttpClient { BaseAddress = new Uri($"http://{endpoint.Authority}") };
        throw new NotSupportedException($"DOCKER_HOST scheme {endpoint.Scheme}:// (use unix:// or tcp://)");
    }

    /// <summary>
    /// Sets what Testcontainers reads from the environment before its first use: the API version of an older engine,
    /// no reaper (Ryuk is an image from a registry; the harness reaps its containers itself, see <see cref="ContainerReaper"/>),
    /// and 127.0.0.1 as the host it reports, so test traffic stays on loopback.
    /// </summary>
    public void ConfigureTestcontainers()
    {
        if (ApiVersion < TestcontainersApi && Environment.GetEnvironmentVariable("DOCKER_API_VERSION") is not { Length: > 0 })
            Environment.SetEnvironmentVariable("DOCKER_API_VERSION", $"{ApiVersion.Major}.{ApiVersion.Minor}");
        Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        if (Environment.GetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE") is not { Length: > 0 })
            Environment.SetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is not { Length: > 0 })
            Environment.SetEnvironmentVariable("DOCKER_HOST", Endpoint.ToString());
    }

    /// <summary>A Docker API client for what Testcontainers does not offer (import, lists, sweeps).</summary>
    public DockerClient CreateClient() =>
        new DockerClientBuilder().WithEndpoint(Endpoint).WithApiVersion(new Version(Math.Min(ApiVersion.Major, 1), ApiVersion.Minor)).Build();

    public override string ToString() => $"Docker {Version} (API {ApiVersion}) at {Endpoint}";

    private sealed record VersionReply(
        [property: JsonPropertyName("Version")] string? Version,
        [property: JsonPropertyName("ApiVersion")] string? ApiVersion);
}
