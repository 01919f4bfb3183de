using System.Diagnostics;
using System.Text;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>The upgrade itself and what the hot-swap tests observe around it.</summary>
public static class HotSwap
{
    /// <summary>
    /// What `upgrade` did: its reply (null when it had not come once the new instance was ACTIVE and that instance
    /// holds the control connection, see <see cref="HeldConnection"/>), when the new pid was ACTIVE, and the new row.
    /// </summary>
    public sealed record Result(string? Reply, TimeSpan? ReplyTime, TimeSpan ActiveTime, ComponentStatus After, string? HeldConnection)
    {
        public string Describe() =>
            (Reply is null ? $"no upgrade reply yet ({HeldConnection})" : $"upgrade reply after {ReplyTime?.TotalMilliseconds:0} ms: {Reply.Trim()}") +
            $"; new instance pid {After.Pid} ACTIVE after {ActiveTime.TotalMilliseconds:0} ms";
    }

    public sealed record Attempt(TimeSpan StartedAt, string? Error);

    /// <summary>How long the reply may trail the new instance becoming ACTIVE before the harness looks for why.</summary>
    private static readonly TimeSpan ReplyGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Sends `upgrade`, waits until <paramref name="component"/> is ACTIVE with a new pid, then for the reply. When the
    /// reply has not come <see cref="ReplyGrace"/> later and the new instance holds a connection of the control socket
    /// (YK-015: the accepted connection leaks into the restarted service, so the reply ends only when it exits), the
    /// outcome is already decided: the wait stops at once and <see cref="Result.HeldConnection"/> says so.
    /// </summary>
    public static async Task<Result> UpgradeAsync(VirtualMachine vm, GraphCtl ctl, string component, ComponentStatus before, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        using var stopReply = new CancellationTokenSource();
        var replyTask = ReplyAsync(ctl, component, limit, clock, stopReply.Token);
        var status = await ctl.WaitForStatusAsync(s => s.Find(component) is { State: "ACTIVE", Pid: { } pid } && pid != before.Pid,
            limit, $"{component} ACTIVE with a new pid after `upgrade`");
        var active = clock.Elapsed;
        var after = status[component];
        if (await Task.WhenAny(replyTask, Task.Delay(ReplyGrace)) != replyTask && await HeldControlConnectionAsync(vm, after.Pid!.Value) is { } held)
        {
            await stopReply.CancelAsync();
            await replyTask.ContinueWith(_ => { }, TaskScheduler.Default); // observed, never left running
            return new Result(null, null, active, after, held);
        }
        var (reply, replied) = await replyTask;
        return new Result(reply, replied, active, after, null);
    }

    private static async Task<(string Reply, TimeSpan At)> ReplyAsync(GraphCtl ctl, string component, TimeSpan limit, Stopwatch clock, CancellationToken cancellationToken)
    {
        var reply = await ctl.SendAsync($"upgrade {component}", limit, cancellationToken);
        return (reply, clock.Elapsed);
    }

    /// <summary>"new instance holds a connection of /run/graph-resolver.sock: socket:[inode]" when <paramref name="pid"/> has one open, else null.</summary>
    public static async Task<string?> HeldControlConnectionAsync(VirtualMachine vm, int pid)
    {
        var result = await vm.Shell.RunAsync(
            $"for f in /proc/{pid}/fd/*; do readlink $f; done 2>/dev/null | sed -n 's/^socket:\\[\\([0-9]*\\)\\]$/\\1/p' | " +
            $"while read i; do awk -v i=$i '$7 == i && $8 == \"{GraphCtl.SocketPath}\" {{ print \"socket:[\" i \"]\" }}' /proc/net/unix; done");
        var socket = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return socket is null ? null : $"new instance holds a connection of {GraphCtl.SocketPath}: {socket}";
    }

    /// <summary>The inode of the socket listening on TCP <paramref name="port"/> in the guest (from /proc/net/tcp).</summary>
    public static async Task<string> ListenerInodeAsync(VirtualMachine vm, int port)
    {
        var result = await vm.Shell.SucceedAsync($"awk '$4 == \"0A\" && $2 ~ /:{port:X4}$/ {{ print $10 }}' /proc/net/tcp");
        return result.Stdout.Trim() is { Length: > 0 } inode ? inode : throw new VmException($"nothing listens on guest port {port}");
    }

    /// <summary>New clients, one every 20 ms or so, each doing one echo round trip, until <paramref name="stop"/>.</summary>
    public static async Task<List<Attempt>> ConnectRepeatedlyAsync(VirtualMachine vm, int port, CancellationToken stop)
    {
        var attempts = new List<Attempt>();
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            var started = clock.Elapsed;
            try
            {
                using var client = await vm.ConnectTcpAsync(port, TimeSpan.FromSeconds(5));
                var net = client.GetStream();
                var line = Encoding.ASCII.GetBytes($"client-{attempts.Count}\n");
                await net.WriteAsync(line);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var echoed = new byte[line.Length];
                var got = await net.ReadAtLeastAsync(echoed, line.Length, throwOnEndOfStream: false, timeout.Token);
                attempts.Add(new Attempt(started, echoed.AsSpan(0, got).SequenceEqual(line) ? null
                    : $"got {got} of {line.Length} bytes back before the connection closed"));
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or VmException)
            {
                attempts.Add(new Attempt(started, e.Message));
            }
            await Task.Delay(20, CancellationToken.None); // about 50 clients a second, not a busy loop
        }
        return attempts;
    }
}
