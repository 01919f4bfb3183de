using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, Basic: the init's last duty to a process it gives up on. When an upgrade restarts a service, a health check
/// fails it or its readiness times out, the process gets SIGTERM and, if it ignores that, SIGKILL after YakirOS's
/// 10-s grace period. Every test here waits out that grace period, so the class shares the services' guest rather than
/// the init-duty guest (the two guests then finish together).
/// </summary>
[Trait("Category", Categories.Basic)]
[Collection(YakirosServicesCollection.Name)]
public sealed class StopEscalationTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    [GuestFact]
    public async Task An_upgrade_restart_kills_a_service_that_ignores_SIGTERM_after_the_grace_period()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("stubborn", "stubborn.cap", ["kernel.memory"], ignoreSigterm: true));
        var before = await ctl.WaitForActiveAsync("stubborn", Scaled(TimeSpan.FromSeconds(15)));
        await ProbeServices.WaitForStartsAsync(vm, "stubborn", 1, Scaled(TimeSpan.FromSeconds(10)), before.Pid); // it ignores SIGTERM by now

        var swap = await HotSwap.UpgradeAsync(vm, ctl, "stubborn", before, Scaled(TimeSpan.FromSeconds(40)));
        var old = await ProbeServices.ProcessAsync(vm, before.Pid!.Value);

        Output.WriteLine($"{swap.Describe()}\nold instance {before.Pid}: {old.State}");
        old.Alive.Should().BeFalse("the resolver must end the old instance (SIGKILL after its grace period) before the new one runs");
        (await ResolverLogAsync()).Should().Contain(l => l.Message == $"upgrade: old process {before.Pid} did not exit, killing");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-020")]
    public async Task A_health_FAILED_service_that_ignores_SIGTERM_is_killed_after_the_grace_period()
    {
        var (vm, ctl) = await GuestAsync();
        var dir = ProbeServices.Dir("stubborn-health");
        await vm.Shell.SucceedAsync($"mkdir -p {dir} && touch {dir}/unhealthy");
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("stubborn-health", "stubborn.health", ["kernel.memory"], ignoreSigterm: true,
            lifecycle: $"health_check = \"test ! -e {dir}/unhealthy\"\nhealth_interval = 1\nhealth_fail_threshold = 1\nhealth_restart_threshold = 2"));
        var failed = (await WaitForLogAsync(l => l.Any(x => x.Message.StartsWith("component 'stubborn-health' failed after", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "stubborn-health going FAILED on its health checks"))
            .First(x => x.Message.StartsWith("component 'stubborn-health' failed after", StringComparison.Ordinal));
        await vm.Shell.SucceedAsync($"rm -f {dir}/unhealthy");
        // The instance that failed is the first one that ran (a restart may already be running beside it).
        var first = (await ProbeServices.WaitForStartsAsync(vm, "stubborn-health", 1, Scaled(TimeSpan.FromSeconds(10)))).First(e => e.Kind == "start");
        await ExpectStoppedAsync(vm, first.Pid, failed.Time);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-020")]
    public async Task A_readiness_timeout_FAILS_the_component_and_kills_a_process_that_ignores_SIGTERM()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("never-ready", "never.ready", ["kernel.memory"], ignoreSigterm: true,
            lifecycle: $"readiness_file = \"{ProbeServices.Dir("never-ready")}/ready\"\nreadiness_timeout = {ReadinessTimeout}"));
        var waiting = await ctl.WaitForStatusAsync(s => s.Find("never-ready") is { State: "READY_WAIT", Pid: not null }, Scaled(TimeSpan.FromSeconds(15)),
            "never-ready waiting for readiness");

        var log = await WaitForLogAsync(l => l.Any(x => x.Message == $"component 'never-ready' readiness timeout after {ReadinessTimeout} seconds"), TimeSpan.FromSeconds(20),
            "never-ready's readiness timeout");
        var started = log.First(x => x.Message.StartsWith("starting component 'never-ready'", StringComparison.Ordinal));
        var timedOut = log.First(x => x.Message == $"component 'never-ready' readiness timeout after {ReadinessTimeout} seconds");

        // The upper bound allows the 1-s loop tick and the other components' synchronous health checks, slow under emulation.
        (timedOut.Time - started.Time).Should().BeGreaterThan(ReadinessTimeout - 1).And.BeLessThanOrEqualTo(ReadinessTimeout + 1 + Scaled(TimeSpan.FromSeconds(2)).TotalSeconds,
            "readiness_timeout = {0} whole seconds, checked each loop tick", ReadinessTimeout);
        (await ctl.StatusAsync())["never-ready"].State.Should().NotBe("ACTIVE", "a component that never signalled readiness is never ACTIVE");
        await ExpectStoppedAsync(vm, waiting["never-ready"].Pid!.Value, timedOut.Time);
    }

    private const int ReadinessTimeout = 4;

    /// <summary>YakirOS's own grace period for a process that ignores SIGTERM (the upgrade path waits 10 s, then SIGKILL).</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The instance <paramref name="pid"/> that YakirOS gave up on at kernel time <paramref name="gaveUpAt"/> (its log line)
    /// must be gone once the grace period has passed on the guest's own clock, plus a margin for the resolver's loop tick
    /// and the synchronous checks that can delay it under emulation. The wait ends as soon as the process is gone, or
    /// at that guest time: a build that never sends SIGKILL is judged then, not after a host-side timeout.
    /// </summary>
    private async Task ExpectStoppedAsync(VirtualMachine vm, int pid, double gaveUpAt)
    {
        var decideAt = gaveUpAt + (Grace + Scaled(TimeSpan.FromSeconds(3))).TotalSeconds;
        var (state, uptime) = ("alive", 0.0);
        await Deadline.PollAsync(async _ =>
        {
            if (!(await ProbeServices.ProcessAsync(vm, pid)).Alive) state = "gone";
            uptime = await GuestClockAsync();
            return state == "gone" || uptime >= decideAt;
        }, Scaled(Grace + TimeSpan.FromSeconds(15)), TimeSpan.FromMilliseconds(500),
            () => $"the guest clock did not reach {decideAt:F1} s (it read {uptime:F1} s) while pid {pid} was alive");
        await ExpectDefectAsync(KnownDefects.NoKillAfterSigterm,
            () => state.Should().Be("gone",
                "the resolver kills the instance it gave up on (SIGTERM, then SIGKILL after a grace period); pid {0} was still {1} at {2:F1} s, {3:F1} s after it gave up at {4:F1} s",
                pid, state, uptime, uptime - gaveUpAt, gaveUpAt),
            async () => $"{await ResolverLogTextAsync()}\ninstance pid {pid} that ignores SIGTERM, " +
                        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{uptime - gaveUpAt:F1} s (guest clock) after the resolver gave up on it: {state}"));
    }
}
