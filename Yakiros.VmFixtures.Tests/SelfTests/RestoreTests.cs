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
        var clockBefore = await GuestClockAsync(vm);
        var host = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(2)); // host time passes; the guest's clock must not follow it across the restore

        await vm.RestoreAsync("clean");

        var file = await vm.Shell.RunAsync("cat /root/restore-marker");
        var process = await vm.Shell.RunAsync(FindSleeper);
        file.ExitCode.Should().NotBe(0, $"the file written after the snapshot must be gone ({file.Describe()})");
        process.ExitCode.Should().Be(1, $"the process started after the snapshot must be gone ({process.Describe()})");
        var clockAfter = await GuestClockAsync(vm);
        var hostElapsed = host.Elapsed.TotalSeconds;
        // A guest clock that followed the host would advance by the host's time (the 2-s pause and the restore); one
        // that returned to the snapshot (taken before clockBefore was read) advances at least the pause less.
        (clockAfter - clockBefore).Should().BeLessThan(hostElapsed - 1.5,
            "the guest clock returns to the snapshot and is not set forward to the host's time (a jump would make every health check of the init due at once); " +
            "the host's clock advanced {0:F2} s between the two readings", hostElapsed);
        output.WriteLine($"restore took {vm.LastRestoreTime.TotalSeconds:F2} s (cold boot {vm.BootTime.TotalSeconds:F2} s); " +
                         $"guest clock advanced {clockAfter - clockBefore:F2} s while the host's advanced {hostElapsed:F2} s");
    }

    private static async Task<double> GuestClockAsync(VirtualMachine vm) =>
        double.Parse((await vm.Shell.SucceedAsync("date -u +%s.%N")).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
