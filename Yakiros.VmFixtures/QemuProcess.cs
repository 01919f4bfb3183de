using System.Diagnostics;

namespace Yakiros.VmFixtures;

/// <summary>
/// One QEMU process that can never outlive the test host. QEMU runs under a tiny /bin/sh guard whose standard
/// input is a pipe from this process: when the test host ends in any way (return, crash, SIGKILL), the kernel
/// closes the pipe, the guard reads end-of-file and SIGKILLs QEMU, unless the run folder holds the keep marker.
/// </summary>
public sealed class QemuProcess : IQemuProcess
{
    // $1 = QEMU pid file, $2 = QEMU log, $3 = keep marker, then the QEMU command.
    private const string GuardScript = """
        pidfile=$1; log=$2; keep=$3; shift 3
        exec 3<&0
        "$@" </dev/null 3<&- >>"$log" 2>&1 &
        qemu=$!
        echo "$qemu" >"$pidfile"
        ( cat <&3 >/dev/null; [ -e "$keep" ] || kill -KILL "$qemu" 2>/dev/null ) &
        watcher=$!
        exec 3<&-
        wait "$qemu"; rc=$?
        kill "$watcher" 2>/dev/null
        exit $rc
        """;

    private readonly Process _guard;
    private readonly RunDirectory _run;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private QemuProcess(Process guard, RunDirectory run)
    {
        _guard = guard;
        _run = run;
        _guard.EnableRaisingEvents = true;
        _guard.Exited += (_, _) => _exited.TrySetResult(SafeExitCode());
        if (_guard.HasExited) _exited.TrySetResult(SafeExitCode());
    }

    /// <summary>QEMU's own pid (not the guard's), once it has started.</summary>
    public int? QemuPid { get; private set; }

    /// <summary>Completes with QEMU's exit code when it ends.</summary>
    public Task<int> Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>What QEMU printed on stdout and stderr.</summary>
    public string Log => File.Exists(_run.QemuLog) ? ReadShared(_run.QemuLog) : "";

    public static async Task<QemuProcess> StartAsync(string qemuBinary, IReadOnlyList<string> arguments, RunDirectory run, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-c", GuardScript, "yakiros-qemu-guard", run.QemuPidFile, run.QemuLog, run.KeepMarker, qemuBinary, .. arguments])
            start.ArgumentList.Add(a);
        File.WriteAllText(run.QemuLog, $"# {qemuBinary} {string.Join(' ', arguments)}\n");
        var guard = Process.Start(start) ?? throw new VmException("Could not start /bin/sh to run QEMU.");
        var qemu = new QemuProcess(guard, run);
        qemu.QemuPid = await ReadPidAsync(run, () => qemu.HasExited, cancellationToken);
        return qemu;
    }

    /// <summary>QEMU's pid from the run's pid file, which appears as soon as the launcher has forked QEMU (null if it never does).</summary>
    internal static async Task<int?> ReadPidAsync(RunDirectory run, Func<bool> exited, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10) && !exited())
        {
            if (File.Exists(run.QemuPidFile) && int.TryParse(File.ReadAllText(run.QemuPidFile).Trim(), out var pid)) return pid;
            await Task.Delay(10, cancellationToken);
        }
        return null;
    }

    /// <summary>Stops QEMU: politely through <paramref name="polite"/> (QMP quit), then SIGTERM, then SIGKILL.</summary>
    public async Task StopAsync(Func<CancellationToken, Task>? polite, TimeSpan grace)
    {
        if (HasExited || await StoppedPolitelyAsync(this, polite, grace)) return;
        foreach (var signal in (int[])[SigTerm, SigKill])
        {
            if (QemuPid is { } pid) _ = Kill(pid, signal);
            try
            {
                await Exited.WaitAsync(TimeSpan.FromSeconds(2));
                return;
            }
            catch (TimeoutException) { }
        }
        try { _guard.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    /// <summary>
    /// True when <paramref name="polite"/> (QMP quit) ended <paramref name="qemu"/> within <paramref name="grace"/>;
    /// false when there is no polite way or it did not work (the caller then signals QEMU).
    /// </summary>
    internal static async Task<bool> StoppedPolitelyAsync(IQemuProcess qemu, Func<CancellationToken, Task>? polite, TimeSpan grace)
    {
        if (polite is null) return false;
        using var quit = new CancellationTokenSource(grace);
        try
        {
            await polite(quit.Token);
            await qemu.Exited.WaitAsync(quit.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or VmException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private const int SigTerm = 15, SigKill = 9;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private int SafeExitCode()
    {
        try { return _guard.ExitCode; } catch (InvalidOperationException) { return -1; }
    }

    internal static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>Stops QEMU by force unless the run folder holds the keep marker (then the guard leaves it running).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!HasExited && !File.Exists(_run.KeepMarker)) await StopAsync(null, TimeSpan.Zero);
        _guard.Dispose();
    }
}
