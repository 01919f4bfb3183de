using System.Text;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>
/// A path from the host to the control socket that starts no program in the guest per request: socat in the guest
/// listens on TCP <see cref="GuestPort"/> (forwarded to the host) and forks a relay to the socket for each connection.
/// Measured under TCG: a `status` request costs the guest 33 ms of CPU this way, against about 190 ms as an SSH
/// command (sh, timeout and socat each start a dynamically linked program). The relay is the harness's, not YakirOS's:
/// it runs under the harness's subreaper and connects to the socket only when a request comes.
/// </summary>
public sealed class ControlRelay(VirtualMachine vm)
{
    public const int GuestPort = 7070;

    /// <summary>Starts the relay in the guest (before the clean snapshot, so that every restore has it) and waits until it listens.</summary>
    public static async Task StartAsync(VirtualMachine vm, CancellationToken cancellationToken)
    {
        await vm.Shell.SucceedAsync(
            $"setsid socat -t5 TCP-LISTEN:{GuestPort},fork,reuseaddr UNIX-CONNECT:{GraphCtl.SocketPath} </dev/null >/dev/null 2>&1 &",
            TimeSpan.FromSeconds(10), cancellationToken);
        await vm.Shell.WaitForOpenPortAsync(GuestPort, TimeSpan.FromSeconds(10), cancellationToken);
    }

    /// <summary>The relay of <paramref name="vm"/> when its port is forwarded, else null.</summary>
    public static ControlRelay? Of(VirtualMachine vm) => vm.Forwards.Any(f => f.GuestPort == GuestPort) ? new ControlRelay(vm) : null;

    /// <summary>What one request got through the relay.</summary>
    /// <param name="Reply">The reply; empty when the relay closed without one (it is not running, or the socket refused it).</param>
    /// <param name="TimedOut">No reply within the limit: the connection stayed open and silent.</param>
    public sealed record Outcome(string Reply, bool TimedOut);

    /// <summary>
    /// Sends <paramref name="command"/> and reads the reply until the resolver closes the connection or
    /// <paramref name="limit"/> passes. When no reply has come after <paramref name="slowAfter"/>, <paramref name="whenSlow"/>
    /// runs while the wait goes on (it may throw to end the wait: a PID 1 that will never answer).
    /// </summary>
    public async Task<Outcome> SendAsync(string command, TimeSpan limit, CancellationToken cancellationToken,
        TimeSpan? slowAfter = null, Func<CancellationToken, Task>? whenSlow = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        try
        {
            using var client = await vm.ConnectTcpAsync(GuestPort, limit, deadline.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.UTF8.GetBytes(command), deadline.Token);
            using var reply = new MemoryStream();
            var reading = stream.CopyToAsync(reply, deadline.Token); // the resolver answers and closes the connection
            if (whenSlow is not null && slowAfter is { } after && await Task.WhenAny(reading, Task.Delay(after, deadline.Token)) != reading)
                await whenSlow(deadline.Token);
            await reading;
            return new Outcome(Encoding.UTF8.GetString(reply.ToArray()), false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Outcome("", true);
        }
        catch (IOException)
        {
            return new Outcome("", false); // reset by the relay: nothing listened, or the socket refused
        }
    }
}
