using System.Diagnostics;
using System.Text;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>The upgrade itself and what the hot-swap tests observe around it.</summary>
public static class HotSwap
{
    /// <summary>What `upgrade` did: its reply, how long the reply took, when the new pid was ACTIVE, and the new row.</summary>
    public sealed record Result(string Reply, TimeSpan ReplyTime, TimeSpan ActiveTime, ComponentStatus After)
    {
        public string Describe() =>
            $"upgrade reply after {ReplyTime.TotalMilliseconds:0} ms: {Reply.Trim()}; new instance pid {After.Pid} ACTIVE after {ActiveTime.TotalMilliseconds:0} ms";
    }

    public sealed record Attempt(TimeSpan StartedAt, string? Error);

    public static async Task<Result> UpgradeAsync(VirtualMachine vm, GraphCtl ctl, string component, ComponentStatus before)
    {
        var clock = Stopwatch.StartNew();
        var reply = await ctl.SendAsync($"upgrade {component}", TimeSpan.FromSeconds(25));
        var replied = clock.Elapsed;
        var status = await ctl.WaitForStatusAsync(s => s.Find(component) is { State: "ACTIVE", Pid: { } pid } && pid != before.Pid,
            TimeSpan.FromSeconds(30), $"{component} ACTIVE with a new pid after `upgrade` (reply: {reply.Trim()})");
        return new Result(reply, replied, clock.Elapsed, status[component]);
    }

    /// <summary>The inode of the socket listening on TCP <paramref name="port"/> in the guest (from /proc/net/tcp).</summary>
    public static async Task<string> ListenerInodeAsync(VirtualMachine vm, int port)
    {
        var result = await vm.Shell.SucceedAsync($"awk '$4 == \"0A\" && $2 ~ /:{port:X4}$/ {{ print $10 }}' /proc/net/tcp");
        return result.Stdout.Trim() is { Length: > 0 } inode ? inode : throw new VmException($"nothing listens on guest port {port}");
    }

    /// <summary>The resolver's `upgrade:` log lines (it logs to the kernel ring buffer).</summary>
    public static async Task<string> ResolverUpgradeLogAsync(VirtualMachine vm) =>
        (await vm.Shell.RunAsync("dmesg | grep -i -E 'upgrade|handoff|hot-swap' | tail -n 30")).Stdout;

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
