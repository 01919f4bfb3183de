using System.Diagnostics;
using System.Globalization;
using FluentAssertions.Execution;
using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Soak;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, Reliability: continuous operation without failures or leaks, and component restart cycles without
/// degradation. The normal suite runs a short soak (Soak:Duration, 60 s by default); `./run.sh soak --duration 24h
/// --report-interval 1h --cycles 1000` runs the long one. Reports with a trend verdict go to TestResults/&lt;run&gt;/soak/.
/// </summary>
[Trait("Category", Categories.Soak)]
[Collection(YakirosServicesCollection.Name)]
public sealed class SoakTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    private const string Cycler = "soak-cycler";

    [GuestFact]
    public async Task The_resolver_runs_and_restarts_a_component_repeatedly_without_leaks_or_degradation()
    {
        var options = Fixture.Options.Soak;
        var (duration, interval, sampleEvery) = (options.DurationSpan, options.ReportIntervalSpan, options.SampleIntervalSpan);
        var (vm, ctl) = await GuestAsync();
        await GeneratedComponents.InstallAsync(vm, [(Cycler, GeneratedComponents.Service(Cycler, "soak.cycler", ["kernel.memory"]))]);
        await ctl.WaitForStatusAsync(s => s.Find(Cycler) is { State: "ACTIVE" }, TimeSpan.FromSeconds(30), $"{Cycler} ACTIVE");
        var report = new SoakReport(Path.Combine(RunResults.Directory(Fixture.Options), "soak"), options);
        Output.WriteLine($"soak: {duration} with a report every {interval}, {options.Cycles} restart cycles, a sample every {sampleEvery}; reports in {report.Directory}");

        var samples = new List<SoakSample>();
        var (cycles, cycleFailures, lastFailure) = (0, 0, (string?)null);
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        var nextReport = interval;
        // The soak lasts its duration, and longer (up to 3x) while asked-for cycles remain: on a busy emulator a cycle
        // takes longer, which is noise; a cycle that fails, or cycles that never finish, are the verdict.
        var limit = duration * 3;
        while (clock.Elapsed < duration || (cycles < options.Cycles && clock.Elapsed < limit))
        {
            if (clock.Elapsed >= nextSample)
            {
                samples.Add(await SampleAsync(vm, ctl, clock.Elapsed, cycles, cycleFailures));
                nextSample = clock.Elapsed + sampleEvery;
            }
            if (clock.Elapsed >= nextReport && samples.Count >= 3)
            {
                Output.WriteLine(report.Write(samples, final: false));
                nextReport += interval;
            }
            if (cycles < options.Cycles)
            {
                var failure = await RestartCycleAsync(vm, ctl);
                cycles++;
                if (failure is not null) (cycleFailures, lastFailure) = (cycleFailures + 1, failure);
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp((nextSample - clock.Elapsed).TotalMilliseconds, 10, 1000)));
            }
        }
        samples.Add(await SampleAsync(vm, ctl, clock.Elapsed, cycles, cycleFailures));
        Output.WriteLine(report.Write(samples, final: true));
        var verdict = SoakVerdict.From(samples);

        using (new AssertionScope())
        {
            cycles.Should().Be(options.Cycles, "{0} restart cycles were asked for within {1} (done: {2} in {3:0} s; each cycle is an `upgrade` of a plain service)",
                options.Cycles, limit, cycles, clock.Elapsed.TotalSeconds);
            cycleFailures.Should().Be(0, "every restart cycle ends with a new pid ACTIVE; last failure: {0}", lastFailure);
            verdict.Leak.Should().BeFalse(verdict.Describe());
            verdict.Degradation.Should().BeFalse(verdict.Describe());
        }
    }

    /// <summary>One restart cycle: `upgrade` of a service with no hand-off restarts it; it must come back ACTIVE with a new pid.</summary>
    private static async Task<string?> RestartCycleAsync(VirtualMachine vm, GraphCtl ctl)
    {
        try
        {
            var before = (await ctl.StatusAsync())[Cycler];
            await HotSwap.UpgradeAsync(vm, ctl, Cycler, before);
            return null;
        }
        catch (VmException e)
        {
            return e.Message.Split('\n')[0];
        }
    }

    private static async Task<SoakSample> SampleAsync(VirtualMachine vm, GraphCtl ctl, TimeSpan at, int cycles, int cycleFailures)
    {
        // busybox's static applets: a dynamically linked program costs the guest about 80 ms to start under emulation
        var pid1 = (await vm.Shell.SucceedAsync("busybox awk '/^VmRSS/ {print $2}' /proc/1/status; busybox ls /proc/1/fd | busybox wc -l",
            TimeSpan.FromSeconds(30))).Stdout.Split('\n');
        var (reply, latency) = await ctl.SendTimedAsync("status", TimeSpan.FromSeconds(10));
        var alone = await ctl.TimeClientAloneAsync(); // the guest's speed at this moment (the other guests share the host)
        var failed = GraphStatus.Parse(reply).Components.Count(c => c.State == "FAILED");
        return new SoakSample(at, double.Parse(pid1[0], CultureInfo.InvariantCulture), int.Parse(pid1[1].Trim(), CultureInfo.InvariantCulture),
            latency.TotalMilliseconds, failed, cycles, cycleFailures, alone.TotalMilliseconds);
    }
}
