namespace Yakiros.VmFixtures.Yakiros;

/// <summary>
/// A typed client of graph-resolver's control socket. It talks to the socket at its real path
/// (<see cref="SocketPath"/>) through socat in the guest, so that graphctl's own defects (a wrong socket path)
/// fail only the test that checks graphctl. Every call has a deadline; a PID 1 that does not answer is named,
/// with what the kernel says it is doing.
/// </summary>
public sealed class GraphCtl(GuestShell shell, ControlRelay? relay = null)
{
    /// <summary>The client of <paramref name="vm"/>'s guest; its `status` polls go through the <see cref="ControlRelay"/> when the guest runs one.</summary>
    public static GraphCtl For(VirtualMachine vm) => new(vm.Shell, ControlRelay.Of(vm));

    public const string SocketPath = "/run/graph-resolver.sock";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Sends one command and returns the reply text (graph-resolver answers every command in text, errors included).
    /// A command that only reads goes through the <see cref="ControlRelay"/> when the guest runs one (under emulation an
    /// SSH command that starts sh, timeout and socat costs the guest several times the relay's 16-33 ms); the others,
    /// and a read the relay could not deliver, go over SSH.
    /// </summary>
    public async Task<string> SendAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? DefaultTimeout;
        if (relay is not null && ReadsOnly(command) && await RelayReplyAsync(command, limit, cancellationToken) is { } relayed) return relayed;
        var seconds = Math.Max(1, (int)Math.Ceiling(limit.TotalSeconds));
        var result = await shell.RunAsync(Client(command, seconds), limit + TimeSpan.FromSeconds(10), cancellationToken);
        return await ReplyOfAsync(command, limit, result, result.Stdout, cancellationToken);
    }

    /// <summary>
    /// Sends one command and times it inside the guest (the clock read right before and after the client), so the
    /// SSH round trip is not counted: the latency a process in the guest sees.
    /// </summary>
    public async Task<(string Reply, TimeSpan Latency)> SendTimedAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? DefaultTimeout;
        var (result, elapsed, output) = await TimedClientAsync(command, limit, $"UNIX-CONNECT:{SocketPath}", cancellationToken);
        return (await ReplyOfAsync(command, limit, result, output, cancellationToken), elapsed);
    }

    /// <summary>
    /// Sends <paramref name="command"/> <paramref name="times"/> times, one after another, each timed as
    /// <see cref="SendTimedAsync"/> times it (same client, the guest clock read right before and after it), from one guest
    /// command: no SSH channel between the samples, so a test that loads the guest on purpose holds that load for less time.
    /// </summary>
    public async Task<IReadOnlyList<(string Reply, TimeSpan Latency)>> SendTimedRepeatedlyAsync(string command, int times, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        var result = await shell.RunAsync(
            $"for i in $(seq {times}); do {TimedClient(command, seconds)}; printf '{SampleMark} %s %s\\n%s\\n' $c $(( e - s )) \"$r\"; done",
            times * (timeout + TimeSpan.FromSeconds(2)) + TimeSpan.FromSeconds(10), cancellationToken);
        var samples = new List<(string, TimeSpan)>();
        foreach (var sample in result.Stdout.Split(SampleMark + " ", StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = sample.Split('\n', 2);
            var (head, reply) = (parts[0].Split(' '), parts.ElementAtOrDefault(1)?.TrimEnd('\n') ?? "");
            var exit = int.Parse(head[0], System.Globalization.CultureInfo.InvariantCulture);
            samples.Add((await ReplyOfAsync(command, timeout, result with { ExitCode = exit, Stdout = reply }, reply, cancellationToken), Nanoseconds(head[1])));
        }
        if (samples.Count != times)
            throw new GraphCtlException($"{times} timed `{command}` requests gave {samples.Count} samples: {result.Describe()}");
        return samples;
    }

    private const string SampleMark = "@@yakiros-sample";

    /// <summary>
    /// The same client as <see cref="SendTimedAsync"/>, started the same way and timed the same way, but writing to
    /// /dev/null instead of the control socket: how long the guest takes to run the client at all, without PID 1. Under
    /// emulation that start dominates the latency, and it slows with the host's load.
    /// </summary>
    public async Task<TimeSpan> TimeClientAloneAsync(CancellationToken cancellationToken = default)
    {
        var (result, elapsed, _) = await TimedClientAsync("status", DefaultTimeout, "/dev/null", cancellationToken);
        return result.Succeeded ? elapsed : throw new GuestCommandFailedException($"Guest command failed: {result.Describe()}", result);
    }

    /// <summary>Runs the client to <paramref name="target"/> between two reads of the guest's clock: the result, the time between them, and the client's output.</summary>
    private async Task<(CommandResult Result, TimeSpan Elapsed, string Output)> TimedClientAsync(string command, TimeSpan limit, string target,
        CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(limit.TotalSeconds));
        var result = await shell.RunAsync($"{TimedClient(command, seconds, target)}; echo $(( e - s )); printf '%s' \"$r\"; exit $c",
            limit + TimeSpan.FromSeconds(10), cancellationToken);
        var lines = result.Stdout.Split('\n', 2);
        return (result, Nanoseconds(lines[0]), lines.ElementAtOrDefault(1) ?? "");
    }

    /// <summary>The client between two reads of the guest's clock (ns): leaves the reply in $r, its exit status in $c, the times in $s and $e.</summary>
    private static string TimedClient(string command, int seconds, string target = $"UNIX-CONNECT:{SocketPath}") =>
        $"s=$(date +%s%N); r=$({Client(command, seconds, target)}); c=$?; e=$(date +%s%N)";

    private static TimeSpan Nanoseconds(string text) => TimeSpan.FromTicks(long.Parse(text, System.Globalization.CultureInfo.InvariantCulture) / 100);

    private static string Client(string command, int seconds, string target = $"UNIX-CONNECT:{SocketPath}") =>
        $"printf '%s' {ShellQuote.Quote(command)} | timeout {seconds + 1} socat -t{seconds} - {target}";

    private async Task<string> ReplyOfAsync(string command, TimeSpan limit, CommandResult result, string reply, CancellationToken cancellationToken)
    {
        if (result.ExitCode == 124 || (result.Succeeded && reply.Length == 0))
            throw await UnresponsiveAsync(command, limit, cancellationToken);
        if (!result.Succeeded)
            throw new GraphCtlException($"The control socket {SocketPath} refused `{command}`: {result.Describe()}");
        return reply;
    }

    /// <summary>
    /// The status table. A PID 1 that is busy (YakirOS runs health checks and readiness commands synchronously, which
    /// takes seconds on a loaded emulator) is asked again until <see cref="BusyTimeout"/>; a frozen one fails at once.
    /// </summary>
    public Task<GraphStatus> StatusAsync(CancellationToken cancellationToken = default) =>
        PollStatusAsync(_ => true, BusyTimeout, "a `status` reply", cancellationToken); // a request, not a wait for a condition

    /// <summary>How long a read-only request is repeated while PID 1 is busy elsewhere.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(20);

    public async Task<GraphAnalysis> AnalyzeAsync(CancellationToken cancellationToken = default) =>
        GraphAnalysis.Parse(await SendAsync("analyze", cancellationToken: cancellationToken));

    /// <summary>Runs the guest's graphctl binary itself (its own socket lookup included), with a deadline.</summary>
    public Task<CommandResult> GraphctlAsync(string arguments, CancellationToken cancellationToken = default) =>
        shell.RunAsync($"timeout {DefaultTimeout.TotalSeconds:0} {YakirosBuild.GraphctlGuestPath} {arguments}", DefaultTimeout + TimeSpan.FromSeconds(10), cancellationToken);

    /// <summary>Polls `status` until <paramref name="condition"/> holds; on the deadline, says what the last table showed.</summary>
    public Task<GraphStatus> WaitForStatusAsync(Func<GraphStatus, bool> condition, TimeSpan timeout, string what,
        CancellationToken cancellationToken = default) =>
        HarnessTimes.WaitAsync(() => PollStatusAsync(condition, timeout, what, cancellationToken));

    private async Task<GraphStatus> PollStatusAsync(Func<GraphStatus, bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        GraphStatus? last = null;
        Pid1UnresponsiveException? busy = null;
        try
        {
            while (true)
            {
                try
                {
                    last = GraphStatus.Parse(await SendAsync("status", cancellationToken: deadline.Token)); // through the relay, see SendAsync
                    busy = null;
                    if (condition(last)) return last;
                }
                // Blocked on its SIGCHLD pipe is the known freeze: it never comes back, so say so at once.
                // Busy elsewhere (starting many components, a slow health check) may pass: keep asking until the deadline.
                catch (Pid1UnresponsiveException e) when (!BlockedOnPipe(e.Message))
                {
                    busy = e;
                }
                await Task.Delay(250, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GuestTimeoutException($"{what} did not happen within {timeout.TotalSeconds:0} s. " +
                (busy is not null ? $"At the end: {busy.Message}" : $"Last status:\n{last?.Raw ?? "(none)"}"));
        }
    }

    /// <summary>
    /// The commands that change nothing in the resolver (src/control.c): sent again over SSH when the relay gives no reply
    /// (it is not running, or the socket refused), so a read may reach the resolver twice, and nothing else may.
    /// </summary>
    private static bool ReadsOnly(string command) =>
        command.Split(' ', 2)[0] is "status" or "caps" or "capabilities" or "tree" or "rdeps" or "dot" or "readiness" or "check-cycles" or "analyze"
            or "validate" or "scc" or "path" or "checkpoint-list";

    /// <summary>
    /// The reply through the relay; null when the relay gave none (the caller asks over SSH, which says why). PID 1 slow
    /// to answer is diagnosed after <see cref="FreezeCheckAfter"/>: one blocked on its SIGCHLD pipe never answers (YK-001),
    /// so it is named at once; a busy one gets the whole limit.
    /// </summary>
    private async Task<string?> RelayReplyAsync(string command, TimeSpan limit, CancellationToken cancellationToken)
    {
        var outcome = await relay!.SendAsync(command, limit, cancellationToken, FreezeCheckAfter, async token =>
        {
            var pid1 = await DiagnosePid1Async(token);
            if (BlockedOnPipe(pid1)) throw Unresponsive(command, FreezeCheckAfter, pid1);
        });
        if (outcome.TimedOut) throw await UnresponsiveAsync(command, limit, cancellationToken);
        return outcome.Reply.Length > 0 ? outcome.Reply : null;
    }

    /// <summary>After this long without a `status` reply through the relay, PID 1's kernel state is read (a frozen PID 1 is named at once).</summary>
    private static readonly TimeSpan FreezeCheckAfter = TimeSpan.FromSeconds(1);

    /// <summary>PID 1's state (<see cref="DiagnosePid1Async"/>) shows it blocked reading a pipe: the SIGCHLD-pipe freeze, which never ends.</summary>
    private static bool BlockedOnPipe(string pid1) => System.Text.RegularExpressions.Regex.IsMatch(pid1, @"wchan=(anon_)?pipe_read\b");

    /// <summary>Waits until <paramref name="component"/> is ACTIVE with a pid and returns its row.</summary>
    public async Task<ComponentStatus> WaitForActiveAsync(string component, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (await WaitForStatusAsync(s => s.Find(component) is { State: "ACTIVE", Pid: not null }, timeout, $"{component} ACTIVE", cancellationToken))[component];

    /// <summary>What PID 1 is doing, from /proc: name, state, kernel wait channel and current syscall.</summary>
    public Task<string> DiagnosePid1Async(CancellationToken cancellationToken = default) => shell.DescribeProcessAsync(1, cancellationToken);

    private async Task<Pid1UnresponsiveException> UnresponsiveAsync(string command, TimeSpan limit, CancellationToken cancellationToken) =>
        Unresponsive(command, limit, await DiagnosePid1Async(cancellationToken));

    private static Pid1UnresponsiveException Unresponsive(string command, TimeSpan limit, string pid1) =>
        new($"PID 1 did not answer `{command}` on {SocketPath} within {limit.TotalSeconds:0} s. PID 1: {pid1}");
}

/// <summary>The control socket could not be used.</summary>
public class GraphCtlException(string message) : VmException(message);

/// <summary>PID 1 accepted no reply within the deadline: the message carries its /proc state (e.g. wchan=pipe_read).</summary>
public sealed class Pid1UnresponsiveException(string message) : GraphCtlException(message);
