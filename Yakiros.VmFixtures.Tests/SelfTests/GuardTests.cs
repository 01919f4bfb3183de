using System.Diagnostics;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>QEMU never outlives the test host, even when the host is killed with SIGKILL.</summary>
[Trait("Category", "Harness")]
public sealed class GuardTests
{
    [SkippableFact]
    public async Task Qemu_dies_with_a_test_host_killed_by_SIGKILL()
    {
        var options = VmOptionsLoader.Load();
        Skip.If(HostTools.Find(options.QemuBinary) is null, $"QEMU is not installed: sudo apt-get install -y {HostTools.Qemu.DebianPackage}");
        var tool = Path.Combine(AppContext.BaseDirectory, "Yakiros.VmTool.dll");
        using var host = Process.Start(new ProcessStartInfo("dotnet", [tool, "guard-demo"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        int qemuPid;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var line = await host.StandardOutput.ReadLineAsync(deadline.Token)
                       ?? throw new InvalidOperationException($"guard-demo printed nothing: {await host.StandardError.ReadToEndAsync(deadline.Token)}");
            line.Should().StartWith("qemu-pid ");
            qemuPid = int.Parse(line["qemu-pid ".Length..]);
            VmLifecycleTests.IsRunning(qemuPid).Should().BeTrue("QEMU runs while its host lives");
        }
        finally
        {
            host.Kill(); // SIGKILL: no finally blocks, no dispose, no exit handlers in the host
        }
        await host.WaitForExitAsync();

        var gone = Stopwatch.StartNew();
        while (VmLifecycleTests.IsRunning(qemuPid) && gone.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);

        VmLifecycleTests.IsRunning(qemuPid).Should().BeFalse($"QEMU pid {qemuPid} must die with its SIGKILLed host (waited {gone.Elapsed.TotalSeconds:F1} s)");
    }
}
