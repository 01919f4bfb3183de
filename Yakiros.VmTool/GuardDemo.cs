using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmTool;

/// <summary>
/// Starts an idle QEMU under the harness's guard (or, with --container, in a container VM host), prints its pid (and
/// the container's name) and waits forever. The harness self-tests kill this process with SIGKILL and check that QEMU
/// (and the container) go with it.
/// </summary>
internal static class GuardDemo
{
    private static readonly string[] IdleQemu = ["-M", "none", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none", "-monitor", "none"];

    public static async Task<int> RunAsync(VmOptions options, bool container, CancellationToken cancellationToken)
    {
        await using IVmHost host = container
            ? await ContainerVmHost.StartAsync(options, await RequireEngineAsync(cancellationToken), Console.Error.WriteLine, cancellationToken)
            : new LocalVmHost(options, Console.Error.WriteLine);
        var run = RunDirectory.Create(options.ResolvedRunsDir);
        await using var qemu = await host.StartQemuAsync(IdleQemu, run, cancellationToken);
        if (host is ContainerVmHost vmHost) Console.WriteLine($"container {vmHost.ContainerName}");
        Console.WriteLine($"qemu-pid {qemu.QemuPid}");
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }

    private static async Task<ContainerEngine> RequireEngineAsync(CancellationToken cancellationToken)
    {
        var (engine, problem) = await ContainerEngine.ProbeAsync(TimeSpan.FromSeconds(3), cancellationToken);
        return engine ?? throw new PrerequisiteMissingException($"{problem}. {ContainerEngine.HowToProvide}");
    }
}
