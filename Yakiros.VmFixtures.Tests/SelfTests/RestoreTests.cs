using Xunit.Abstractions;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>Restoring the clean snapshot gives every test class a fresh guest.</summary>
[Collection(GuestVmCollection.Name)]
[Trait("Category", "Harness")]
public sealed class RestoreTests(StandInVmFixture fixture, ITestOutputHelper output)
{
    // Anchored, so that pgrep does not find the shell that runs it (whose command line also holds the words).
    private const string FindSleeper = "pgrep -f '^sleep 4242$'";

    [SkippableFact]
    public async Task A_restore_discards_files_and_processes_created_since_the_snapshot()
    {
        var vm = fixture.Vm;
        await vm.Shell.SucceedAsync("echo dirty > /root/restore-marker && (setsid sleep 4242 </dev/null >/dev/null 2>&1 &)");
        (await vm.Shell.RunAsync(FindSleeper)).Succeeded.Should().BeTrue("the change exists before the restore");
        var clockBefore = long.Parse((await vm.Shell.SucceedAsync("date -u +%s")).Stdout.Trim());
        await Task.Delay(TimeSpan.FromSeconds(2)); // host time passes; the guest's clock must not follow it across the restore

        await vm.RestoreAsync("clean");

        var file = await vm.Shell.RunAsync("cat /root/restore-marker");
        var process = await vm.Shell.RunAsync(FindSleeper);
        file.ExitCode.Should().NotBe(0, $"the file written after the snapshot must be gone ({file.Describe()})");
        process.ExitCode.Should().Be(1, $"the process started after the snapshot must be gone ({process.Describe()})");
        var clockAfter = long.Parse((await vm.Shell.SucceedAsync("date -u +%s")).Stdout.Trim());
        clockAfter.Should().BeLessThan(clockBefore + 2,
            "the guest clock returns to the snapshot and is not set forward to the host's time (a jump would make every health check of the init due at once)");
        output.WriteLine($"restore took {vm.LastRestoreTime.TotalSeconds:F2} s (cold boot {vm.BootTime.TotalSeconds:F2} s)");
    }
}
