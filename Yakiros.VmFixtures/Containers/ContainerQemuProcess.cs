namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// QEMU started by exec in a <see cref="HarnessContainer"/>: the exec ends when QEMU does, which completes
/// <see cref="Exited"/>. QEMU cannot outlive the container, and the container cannot outlive the test host.
/// </summary>
public sealed class ContainerQemuProcess : IQemuProcess
{
    // $1 = QEMU pid file, $2 = QEMU log, then the QEMU command.
    private const string Launcher = """
        pidfile=$1; log=$2; shift 2
        "$@" </dev/null >>"$log" 2>&1 &
        echo $! >"$pidfile"
        wait $!
        """;

    private readonly HarnessContainer _container;
    private readonly RunDirectory _run;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ContainerQemuProcess(HarnessContainer container, RunDirectory run)
    {
        _container = container;
        _run = run;
    }

    public int? QemuPid { get; private set; }

    public Task<int> Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    public string Log => File.Exists(_run.QemuLog) ? QemuProcess.ReadShared(_run.QemuLog) : "";

    public static async Task<ContainerQemuProcess> StartAsync(HarnessContainer container, string qemuBinary, IReadOnlyList<string> arguments,
        RunDirectory run, CancellationToken cancellationToken)
    {
        File.WriteAllText(run.QemuLog, $"# in container {container.Name}: {qemuBinary} {string.Join(' ', arguments)}\n");
        var qemu = new ContainerQemuProcess(container, run);
        _ = container.ExecAsync(["/bin/sh", "-c", Launcher, "yakiros-qemu", run.QemuPidFile, run.QemuLog, qemuBinary, .. arguments], CancellationToken.None)
            .ContinueWith(t => qemu._exited.TrySetResult(t.IsCompletedSuccessfully ? t.Result.ExitCode : -1), TaskScheduler.Default);
        qemu.QemuPid = await QemuProcess.ReadPidAsync(run, () => qemu.HasExited, cancellationToken);
        return qemu;
    }

    public async Task StopAsync(Func<CancellationToken, Task>? polite, TimeSpan grace)
    {
        if (HasExited || await QemuProcess.StoppedPolitelyAsync(this, polite, grace)) return;
        foreach (var signal in (string[])["TERM", "KILL"])
        {
            if (QemuPid is not { } pid) break;
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _container.ExecAsync(["kill", $"-{signal}", pid.ToString()], deadline.Token);
                await Exited.WaitAsync(TimeSpan.FromSeconds(2));
                return;
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException or Docker.DotNet.DockerApiException or HttpRequestException) { }
        }
        // Still there: removing the container (its owner does that next) takes QEMU with it.
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited && !File.Exists(_run.KeepMarker)) await StopAsync(null, TimeSpan.Zero);
    }
}
