using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, Health checks: checks run at their configured interval, ACTIVE → DEGRADED happens at exactly
/// health_fail_threshold consecutive failures and FAILED at exactly health_restart_threshold, a passing check brings
/// DEGRADED back to ACTIVE, and a hanging check is killed at health_timeout. The checks are counted from the
/// resolver's own log ("running health check for 'X'", "health check for 'X' failed with exit code N", the
/// DEGRADED / FAILED / recovered lines), each stamped by the kernel's clock, never by polling the status at 1-s
/// resolution. YakirOS compares whole seconds (time(NULL)), so an interval of N s is N-1 to N+1 s of real time.
/// </summary>
[Trait("Category", Categories.Health)]
[Collection(YakirosTimersCollection.Name)]
public sealed class HealthTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    private const string Probe = "health-probe";
    private static readonly string Flag = $"{ProbeServices.Dir(Probe)}/unhealthy";
    private static readonly string Hang = $"{ProbeServices.Dir(Probe)}/hang";

    private static string Lifecycle(int interval, int failThreshold, int restartThreshold, int timeout = 5) => $"""
        health_check = "test ! -e {Hang} || exec sleep 60; test ! -e {Flag}"
        health_interval = {interval}
        health_timeout = {timeout}
        health_fail_threshold = {failThreshold}
        health_restart_threshold = {restartThreshold}
        """;

    [GuestFact]
    public async Task Health_checks_run_at_the_configured_interval()
    {
        const int interval = 3;
        var (vm, ctl) = await AddProbeAsync(Lifecycle(interval, 3, 5));

        var log = await WaitForLogAsync(l => Checks(l).Count >= 5, TimeSpan.FromSeconds(40), "5 health checks of health-probe");

        var times = Checks(log).Select(c => c.Time).ToList();
        var gaps = times.Zip(times.Skip(1), (a, b) => Math.Round(b - a, 2)).ToList();
        // Time PID 1 spent running other components' checks inside each gap (YakirOS may run them synchronously in its
        // loop): the cause of a late check on a loaded emulator, not a wrong interval.
        var busy = times.Zip(times.Skip(1), (a, b) => Math.Round(OtherChecksTime(log, a, b), 2)).ToList();
        var net = gaps.Zip(busy, (g, b) => g - b).ToList();
        Output.WriteLine($"health checks at kernel times {string.Join(' ', times)}; gaps {string.Join(' ', gaps)} s, of which other checks {string.Join(' ', busy)} s");
        gaps.Should().OnlyContain(g => g > interval - 1,
            "health_interval = {0}: YakirOS runs a check only when {0} whole seconds have passed since the last one", interval);
        net.Order().ElementAt(net.Count / 2).Should().BeLessThanOrEqualTo(interval + 1.5,
            "the median gap, less the time PID 1 spent on other components' checks, is the interval plus at most the 1-s loop tick (gaps {0}, other checks {1})",
            string.Join(' ', gaps), string.Join(' ', busy));
        Failures(log).Should().BeEmpty("the flag file does not exist, so every check passes");
        (await ctl.StatusAsync())[Probe].State.Should().Be("ACTIVE");
    }

    [GuestFact]
    public async Task DEGRADED_comes_at_exactly_the_fail_threshold_and_FAILED_at_exactly_the_restart_threshold()
    {
        const int failThreshold = 2, restartThreshold = 4;
        var (vm, ctl) = await AddProbeAsync(Lifecycle(1, failThreshold, restartThreshold));
        var before = await ctl.WaitForActiveAsync(Probe, TimeSpan.FromSeconds(10));
        await WaitForLogAsync(l => Checks(l).Count >= 1, TimeSpan.FromSeconds(20), "a first health check");

        await ProbeServices.TouchAsync(vm, Flag);
        var states = new List<string>();
        var log = await WaitForLogAsync(l => l.Any(x => x.Message.StartsWith($"component '{Probe}' failed after", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(40), "health-probe going FAILED");
        var row = (await ctl.StatusAsync())[Probe];

        var failures = Failures(log);
        var degradedAt = Index(log, $"component '{Probe}' entered DEGRADED state after {failThreshold} failures");
        var failedAt = Index(log, $"component '{Probe}' failed after {restartThreshold} consecutive health failures - restarting");
        Output.WriteLine(string.Join('\n', log.Where(l => l.Message.Contains(Probe, StringComparison.Ordinal))));
        degradedAt.Should().BeGreaterThan(-1, "DEGRADED must be logged after exactly health_fail_threshold = {0} failures", failThreshold);
        failures.Count(f => f < degradedAt).Should().Be(failThreshold, "ACTIVE → DEGRADED at exactly {0} consecutive failures", failThreshold);
        failedAt.Should().BeGreaterThan(-1, "FAILED must be logged after exactly health_restart_threshold = {0} failures", restartThreshold);
        failures.Count(f => f < failedAt).Should().Be(restartThreshold, "DEGRADED → FAILED at exactly {0} consecutive failures", restartThreshold);
        (row.Pid != before.Pid || row.State == "FAILED").Should().BeTrue("a FAILED component is stopped: its pid {0} is no longer the component's ({1})", before.Pid, row);
        (await ProbeServices.ProcessAsync(vm, before.Pid!.Value)).Alive.Should().BeFalse("the resolver stops the failed instance (it was {0})", before.Pid);
    }

    [GuestFact]
    public async Task A_DEGRADED_component_whose_checks_pass_again_is_ACTIVE_again_with_the_same_process()
    {
        var (vm, ctl) = await AddProbeAsync(Lifecycle(2, 2, 6));
        var before = await ctl.WaitForActiveAsync(Probe, TimeSpan.FromSeconds(10));
        await WaitForLogAsync(l => Checks(l).Count >= 1, TimeSpan.FromSeconds(20), "a first health check");

        await ProbeServices.TouchAsync(vm, Flag);
        await WaitForLogAsync(l => l.Any(x => x.Message.StartsWith($"component '{Probe}' entered DEGRADED", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "health-probe DEGRADED");
        var whileDegraded = await ctl.StatusAsync();
        var degraded = whileDegraded[Probe];
        var caps = await ctl.SendAsync("caps");
        await vm.Shell.SucceedAsync($"rm -f {Flag}");
        await WaitForLogAsync(l => l.Any(x => x.Message == $"component '{Probe}' recovered from DEGRADED state"), TimeSpan.FromSeconds(30),
            "health-probe recovering from DEGRADED (a passing check)");
        var recovered = await ctl.WaitForStatusAsync(s => s.Find(Probe)?.State != "DEGRADED", Scaled(TimeSpan.FromSeconds(5)), "the status leaving DEGRADED");

        degraded.State.Should().Be("DEGRADED", "the status shows what the resolver logged");
        whileDegraded.Summary.Should().Be(whileDegraded.SummaryFromRows(), "the summary counts the DEGRADED row as degraded:\n{0}", whileDegraded.Raw);
        caps.Should().MatchRegex($@"health\.probe\s+DEGRADED\s+{Probe}", "a DEGRADED component's capability is shown DEGRADED:\n{0}", caps);
        recovered[Probe].State.Should().Be("ACTIVE", "a passing check brings DEGRADED back to ACTIVE");
        recovered[Probe].Pid.Should().Be(before.Pid, "recovery is not a restart");
        recovered[Probe].Restarts.Should().Be(before.Restarts);
        (await ctl.SendAsync("caps")).Should().MatchRegex($@"health\.probe\s+UP\s+{Probe}", "the recovered component's capability is UP again");
    }

    [GuestFact]
    public async Task A_health_check_that_hangs_is_killed_at_the_health_timeout()
    {
        const int timeout = 2;
        var (vm, ctl) = await AddProbeAsync(Lifecycle(2, 3, 5, timeout));
        await WaitForLogAsync(l => Checks(l).Count >= 1, TimeSpan.FromSeconds(20), "a first health check");

        await ProbeServices.TouchAsync(vm, Hang);
        var log = await WaitForLogAsync(l => l.Any(x => x.Message.StartsWith($"health check for '{Probe}' timed out", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the hanging check timing out");
        await vm.Shell.SucceedAsync($"rm -f {Hang}");
        var hung = await vm.Shell.RunAsync("pgrep -f '^sleep 60$' || true");

        var timedOut = log.First(x => x.Message.StartsWith($"health check for '{Probe}' timed out", StringComparison.Ordinal));
        var started = log.Last(x => x.Time <= timedOut.Time && x.Message.StartsWith($"running health check for '{Probe}'", StringComparison.Ordinal));
        var took = timedOut.Time - started.Time;
        Output.WriteLine($"{started}\n{timedOut}\nthe check ran {took:F2} s");
        timedOut.Message.Should().Be($"health check for '{Probe}' timed out after {timeout} seconds");
        took.Should().BeGreaterThan(timeout - 1).And.BeLessThanOrEqualTo(timeout + 1,
            "health_timeout = {0} s: the check is killed when {0} whole seconds have passed", timeout);
        hung.Stdout.Trim().Should().BeEmpty("the hanging check (sleep 60) is killed, not left running");
        (await ctl.StatusAsync())[Probe].State.Should().Be("ACTIVE", "one timed-out check is under health_fail_threshold = 3");
    }

    private async Task<(VirtualMachine, GraphCtl)> AddProbeAsync(string lifecycle)
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Service(Probe, "health.probe", ["kernel.memory"], lifecycle: lifecycle));
        await ctl.WaitForActiveAsync(Probe, Scaled(TimeSpan.FromSeconds(15)));
        return (vm, ctl);
    }

    /// <summary>Seconds between `from` and `to` during which a health check of another component ran (from its "running" line to its result line).</summary>
    private static double OtherChecksTime(IReadOnlyList<ResolverLogLine> log, double from, double to)
    {
        var total = 0.0;
        var running = new Dictionary<string, double>();
        foreach (var line in log.Where(l => l.Time > from && l.Time < to))
        {
            if (System.Text.RegularExpressions.Regex.Match(line.Message, @"^running health check for '([^']+)'") is { Success: true } start && start.Groups[1].Value != Probe)
                running[start.Groups[1].Value] = line.Time;
            else if (System.Text.RegularExpressions.Regex.Match(line.Message, @"^health check for '([^']+)' (passed|failed|timed out)") is { Success: true } end &&
                     running.Remove(end.Groups[1].Value, out var began))
                total += line.Time - began;
        }
        return total;
    }

    private static List<ResolverLogLine> Checks(IReadOnlyList<ResolverLogLine> log) =>
        log.Where(l => l.Message.StartsWith($"running health check for '{Probe}'", StringComparison.Ordinal)).ToList();

    /// <summary>Positions in <paramref name="log"/> of the probe's failed checks.</summary>
    private static List<int> Failures(IReadOnlyList<ResolverLogLine> log) =>
        log.Select((l, i) => (l, i)).Where(x => x.l.Message.StartsWith($"health check for '{Probe}' failed with exit code", StringComparison.Ordinal))
            .Select(x => x.i).ToList();

    private static int Index(IReadOnlyList<ResolverLogLine> log, string message) => log.ToList().FindIndex(l => l.Message == message);
}
