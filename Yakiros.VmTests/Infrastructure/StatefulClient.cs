using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>The stateful service's answer: its in-memory counter and the pid that answered.</summary>
public sealed record StatefulState([property: JsonPropertyName("counter")] int Counter, [property: JsonPropertyName("pid")] int Pid);

/// <summary>HTTP client of test-stateful-service through its forwarded port (GET /state, POST /increment), 5-s deadlines.</summary>
public sealed class StatefulClient(VirtualMachine vm, int guestPort) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri($"http://127.0.0.1:{vm.HostPortFor(guestPort)}/"), Timeout = TimeSpan.FromSeconds(5) };

    public Task<StatefulState> StateAsync(CancellationToken cancellationToken = default) => CallAsync(HttpMethod.Get, "state", cancellationToken);

    public Task<StatefulState> IncrementAsync(CancellationToken cancellationToken = default) => CallAsync(HttpMethod.Post, "increment", cancellationToken);

    /// <summary>Increments <paramref name="times"/> times and returns the last answer.</summary>
    public async Task<StatefulState> IncrementAsync(int times, CancellationToken cancellationToken = default)
    {
        StatefulState? last = null;
        for (var i = 0; i < times; i++) last = await IncrementAsync(cancellationToken);
        return last ?? await StateAsync(cancellationToken);
    }

    private async Task<StatefulState> CallAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.SendAsync(new HttpRequestMessage(method, path), cancellationToken);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<StatefulState>(cancellationToken)
                   ?? throw new VmException($"{method} /{path} on the stateful service returned no JSON");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new VmException($"{method} /{path} on the stateful service (guest port {guestPort}) failed: {e.Message}");
        }
    }

    public void Dispose() => _http.Dispose();
}
