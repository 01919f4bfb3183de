namespace Yakiros.VmFixtures;

/// <summary>A running QEMU, wherever it runs (a guarded host process or an exec in a container).</summary>
public interface IQemuProcess : IAsyncDisposable
{
    /// <summary>QEMU's own pid, once it has started.</summary>
    int? QemuPid { get; }

    /// <summary>Completes with QEMU's exit code when it ends.</summary>
    Task<int> Exited { get; }

    bool HasExited { get; }

    /// <summary>What QEMU printed on stdout and stderr.</summary>
    string Log { get; }

    /// <summary>Stops QEMU: politely through <paramref name="polite"/> (QMP quit), then SIGTERM, then SIGKILL.</summary>
    Task StopAsync(Func<CancellationToken, Task>? polite, TimeSpan grace);
}
