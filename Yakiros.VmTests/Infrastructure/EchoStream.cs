using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// A persistent client of the echo server: one TCP connection through the guest's forward that sends a numbered
/// line every <c>interval</c> and records when each echo comes back. <see cref="StopAsync"/> ends the stream
/// cleanly (half-close, then read to the end) and says what the connection went through.
/// </summary>
public sealed class EchoStream : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(int Seq, TimeSpan At)> _echoes = [];
    private readonly Lock _gate = new();
    private Task? _sender, _receiver;
    private int _sent;
    private string? _error;
    private TimeSpan? _closedByServerAt;

    private EchoStream(TcpClient client, TimeSpan interval)
    {
        _client = client;
        _stream = client.GetStream();
        _interval = interval;
    }

    /// <summary>Connects to <paramref name="guestPort"/> and proves the echo works with a first round trip before streaming.</summary>
    public static async Task<EchoStream> OpenAsync(VirtualMachine vm, int guestPort, TimeSpan interval, CancellationToken cancellationToken)
    {
        var client = await vm.ConnectTcpAsync(guestPort, TimeSpan.FromSeconds(10), cancellationToken);
        var stream = new EchoStream(client, interval);
        stream._receiver = Task.Run(stream.ReceiveAsync, CancellationToken.None);
        await stream.SendAsync(cancellationToken);
        using var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        first.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (stream.Received == 0)
            {
                if (stream._error is not null || stream._closedByServerAt is not null)
                    throw new VmException($"The echo server on guest port {guestPort} did not echo the first line: {stream.Describe()}");
                await Task.Delay(10, first.Token);
            }
        }
        catch (Exception e)
        {
            await stream.DisposeAsync();
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new VmException($"The echo server on guest port {guestPort} did not echo the first line within 10 s: {stream.Describe()}");
            throw;
        }
        stream._sender = Task.Run(stream.SendLoopAsync, CancellationToken.None);
        return stream;
    }

    /// <summary>Echoes received so far.</summary>
    public int Received
    {
        get { lock (_gate) return _echoes.Count; }
    }

    /// <summary>True while the server has neither closed nor broken the connection.</summary>
    public bool Alive => _error is null && _closedByServerAt is null;

    /// <summary>Waits until at least <paramref name="count"/> more echoes arrived (or the connection ended).</summary>
    public async Task WaitForMoreAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var target = Received + count;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (Received < target && Alive) await Task.Delay(10, deadline.Token);
    }

    /// <summary>Stops sending, half-closes, reads the remaining echoes until the server closes (or the deadline) and reports.</summary>
    public async Task<EchoReport> StopAsync(TimeSpan drain)
    {
        await _stop.CancelAsync();
        if (_sender is not null) await _sender;
        var closing = _clock.Elapsed;
        try
        {
            if (Alive) _client.Client.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e)
        {
            _error ??= $"shutdown failed: {e.SocketErrorCode}";
        }
        await Task.WhenAny(_receiver!, Task.Delay(drain));
        List<(int Seq, TimeSpan At)> echoes;
        lock (_gate) echoes = [.. _echoes];
        // The server closing after our half-close is the normal end; before it, the connection was dropped.
        var droppedAt = _closedByServerAt is { } at && at < closing ? at : (TimeSpan?)null;
        return new EchoReport(_sent, echoes.Select(e => e.Seq).ToList(), LongestGap(echoes), _error, droppedAt,
            _receiver!.IsCompleted ? null : $"the server did not close the connection within {drain.TotalSeconds:0} s of our half-close");
    }

    private static TimeSpan LongestGap(List<(int Seq, TimeSpan At)> echoes) =>
        echoes.Count < 2 ? TimeSpan.Zero : echoes.Zip(echoes.Skip(1), (a, b) => b.At - a.At).Max();

    private string Describe() => _error ?? (_closedByServerAt is { } at ? $"closed by the server after {at.TotalMilliseconds:0} ms" : "no reply");

    private async Task SendLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested && Alive)
            {
                await Task.Delay(_interval, _stop.Token);
                await SendAsync(_stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            _error ??= $"sending line {_sent} failed after {_clock.Elapsed.TotalMilliseconds:0} ms: {e.Message}";
        }
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        var line = Encoding.ASCII.GetBytes($"{_sent}\n");
        await _stream.WriteAsync(line, cancellationToken);
        _sent++;
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        var pending = new StringBuilder();
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer);
                if (n == 0)
                {
                    _closedByServerAt = _clock.Elapsed;
                    return;
                }
                pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
                var text = pending.ToString();
                var end = text.LastIndexOf('\n');
                if (end < 0) continue;
                var now = _clock.Elapsed;
                lock (_gate)
                    foreach (var line in text[..end].Split('\n'))
                        _echoes.Add((int.TryParse(line, out var seq) ? seq : -1, now));
                pending.Clear().Append(text[(end + 1)..]);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            _error ??= $"reading failed after {_clock.Elapsed.TotalMilliseconds:0} ms: {e.Message}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _client.Dispose();
        foreach (var task in new[] { _sender, _receiver })
            if (task is not null) await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}

/// <summary>What one streamed connection went through: lines sent, echoes received in order, the longest silence.</summary>
public sealed record EchoReport(int Sent, IReadOnlyList<int> Echoed, TimeSpan LongestGap, string? Error, TimeSpan? DroppedAt, string? NotClosed)
{
    public IReadOnlyList<int> Lost => Enumerable.Range(0, Sent).Except(Echoed).ToList();

    public IReadOnlyList<int> Duplicated => Echoed.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

    public IReadOnlyList<int> OutOfOrder => Echoed.Zip(Echoed.Skip(1)).Where(p => p.Second <= p.First).Select(p => p.Second).ToList();

    public bool Intact => Error is null && DroppedAt is null && Lost.Count == 0 && Duplicated.Count == 0 && OutOfOrder.Count == 0 && Echoed.All(s => s >= 0);

    public string Describe() =>
        $"{Sent} lines sent, {Echoed.Count} echoes received; lost {Sample(Lost)}, duplicated {Sample(Duplicated)}, out of order {Sample(OutOfOrder)}; " +
        $"longest gap {LongestGap.TotalMilliseconds:0} ms" +
        (DroppedAt is { } at ? $"; CONNECTION CLOSED BY THE SERVER at {at.TotalMilliseconds:0} ms" : "") +
        (Error is not null ? $"; CONNECTION ERROR: {Error}" : "") +
        (NotClosed is not null ? $"; {NotClosed}" : "");

    private static string Sample(IReadOnlyList<int> seqs) =>
        seqs.Count == 0 ? "none" : $"{seqs.Count} ({string.Join(',', seqs.Take(10))}{(seqs.Count > 10 ? ",…" : "")})";
}
