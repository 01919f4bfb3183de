using Yakiros.VmFixtures;

namespace Yakiros.VmTool;

/// <summary>
/// Starts an idle QEMU under the harness's guard, prints its pid and waits forever. The harness self-test kills
/// this process with SIGKILL and checks that QEMU goes with it.
/// </summary>
internal static class GuardDemo
{
    public static async Task<int> RunAsync(VmOptions options, CancellationToken cancellationToken)
    {
        var run = RunDirectory.Create(options.ResolvedRunsDir);
        await using var qemu = await QemuProcess.StartAsync(HostTools.RequireQemu(options),
            ["-M", "none", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none", "-monitor", "none"], run, cancellationToken);
        Console.WriteLine($"qemu-pid {qemu.QemuPid}");
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }
}
