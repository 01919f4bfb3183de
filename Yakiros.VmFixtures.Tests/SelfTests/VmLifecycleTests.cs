using System.Diagnostics;
using Xunit.Abstractions;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>A dying guest ends every wait at once with the console's story, and disposal leaves no QEMU behind.</summary>
[Collection(GuestVmLifecycleCollection.Name)]
[Trait("Category", "Harness")]
public sealed class VmLifecycleTests(StandInVmFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task A_kernel_panic_ends_waiting_operations_at_once_and_disposal_leaves_no_qemu()
    {
        Skip.If(fixture.UnavailableReason is not null, fixture.UnavailableReason);
        var vm = await fixture.StartAnotherAsync(output.WriteLine); // from the fixture's template: a second guest without a boot
        var qemuPid = vm.QemuPid ?? throw new InvalidOperationException("QEMU pid unknown");
        try
        {
            var longWait = vm.Shell.WaitUntilSucceedsAsync("test -e /never-created", TimeSpan.FromMinutes(2));
            var clock = Stopwatch.StartNew();
            _ = vm.Shell.RunAsync("echo c > /proc/sysrq-trigger", TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);

            var died = await Assert.ThrowsAsync<GuestDiedException>(() => longWait);

            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "a panic must end a 2-minute wait at once");
            died.Message.Should().Contain("kernel panic").And.Contain("sysrq triggered crash");
            output.WriteLine($"wait ended {clock.Elapsed.TotalSeconds:F2} s after the crash was triggered:\n{died.Message}");
        }
        finally
        {
            await vm.DisposeAsync();
        }

        IsRunning(qemuPid).Should().BeFalse($"QEMU (pid {qemuPid}) must be gone once the VM is disposed");
    }

    [SkippableFact]
    public async Task Disposing_a_healthy_vm_stops_qemu_and_removes_its_run_folder()
    {
        Skip.If(fixture.UnavailableReason is not null, fixture.UnavailableReason);
        var vm = await fixture.StartAnotherAsync(output.WriteLine); // from the fixture's template: a second guest without a boot
        var qemuPid = vm.QemuPid!.Value;
        IsRunning(qemuPid).Should().BeTrue();

        var clock = Stopwatch.StartNew();
        await vm.DisposeAsync();

        IsRunning(qemuPid).Should().BeFalse($"QEMU (pid {qemuPid}) must be gone once the VM is disposed");
        Directory.Exists(vm.Run.Path).Should().BeFalse("a clean run leaves no per-run state");
        output.WriteLine($"graceful stop took {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    /// <summary>True while <paramref name="pid"/> is a live (not zombie) process.</summary>
    internal static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
