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
        using var host = await GuardDemoHost.StartAsync(TimeSpan.FromSeconds(30));
        var qemuPid = host.QemuPid;
        VmLifecycleTests.IsRunning(qemuPid).Should().BeTrue("QEMU runs while its host lives");

        host.KillWithSigkill();
        var waited = await GuardDemoHost.WaitUntilAsync(() => Task.FromResult(!VmLifecycleTests.IsRunning(qemuPid)), TimeSpan.FromSeconds(10));

        VmLifecycleTests.IsRunning(qemuPid).Should().BeFalse($"QEMU pid {qemuPid} must die with its SIGKILLed host (waited {waited.TotalSeconds:F1} s)");
    }
}
