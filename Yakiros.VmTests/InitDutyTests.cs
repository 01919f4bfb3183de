using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, Basic: the duties that make YakirOS an init system. Dependency gating and order (proved with the
/// services' own timestamps), restart after a crash with YakirOS's rules (a new start only when 5 whole seconds have
/// passed since the last one, src/graph.c:60; back-off after 5 starts within 30 s, src/component.c:171), failed
/// oneshots and reaping of orphans by PID 1 (stopping a process that ignores SIGTERM: <see cref="StopEscalationTests"/>).
/// Rules YakirOS evaluates only on events get an event every second from the ticker probe (a passing 1-s health check).
/// These tests wait mostly on YakirOS's own timers (restart gaps, grace periods, back-off), so they have a guest of
/// their own and run beside the other categories.
/// </summary>
[Trait("Category", Categories.Basic)]
[Collection(YakirosTimersCollection.Name)]
public sealed class InitDutyTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    /// <summary>YakirOS compares whole seconds: "5 s since the last start" is more than 4 s of real time.</summary>
    private const double MinRestartGap = 4.0;

    [GuestFact]
    public async Task A_dependent_starts_only_after_its_provider_is_ready_and_unmet_requires_start_nothing()
    {
        var (vm, ctl) = await GuestAsync();
        // The provider stays not ready until the test releases it, so READY_WAIT is seen however slow the host is.
        var provider = ProbeServices.Service("gate-provider", "gate.provider", ["kernel.memory"],
            body: "while [ ! -e $DIR/release ]; do sleep 0.2; done\necho \"ready $(date +%s.%N) $$\" >> $DIR/events\ntouch $DIR/ready",
            lifecycle: $"readiness_file = \"{ProbeServices.Dir("gate-provider")}/ready\"\nreadiness_timeout = 60");
        var dependent = ProbeServices.Service("gate-dependent", "gate.dependent", ["gate.provider"]);
        var unmet = ProbeServices.Service("gate-unmet", "gate.unmet", ["gate.nobody-provides-this"]);

        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker(), unmet, dependent, provider);
        var waiting = await ctl.WaitForStatusAsync(s => s.Find("gate-provider")?.State == "READY_WAIT", Scaled(TimeSpan.FromSeconds(10)),
            "gate-provider waiting for its readiness file (READY_WAIT)");
        await ProbeServices.TouchAsync(vm, $"{ProbeServices.Dir("gate-provider")}/release");
        var active = await ctl.WaitForStatusAsync(s => s.Find("gate-dependent") is { State: "ACTIVE", Pid: not null }, Scaled(TimeSpan.FromSeconds(30)),
            "gate-dependent ACTIVE once gate-provider is ready");

        var ready = (await ProbeServices.WaitForEventsAsync(vm, "gate-provider", "ready", 1, Scaled(TimeSpan.FromSeconds(15)))).Single(e => e.Kind == "ready");
        var starts = (await ProbeServices.WaitForStartsAsync(vm, "gate-dependent", 1, Scaled(TimeSpan.FromSeconds(10)), active["gate-dependent"].Pid)).Where(e => e.Kind == "start").ToList();
        Output.WriteLine($"provider ready at {ready.At:F3}; dependent started at {string.Join(", ", starts.Select(s => s.At.ToString("F3")))}\n{active.Raw}");
        waiting["gate-dependent"].Should().Match<ComponentStatus>(c => c.State == "INACTIVE" && c.Pid == null,
            "a dependent has no process while its provider is not ready ({0})", waiting["gate-dependent"]);
        starts.Should().ContainSingle("the dependent starts once");
        starts[0].At.Should().BeGreaterThan(ready.At, "the dependent starts after its provider signalled readiness");
        active["gate-unmet"].Should().Match<ComponentStatus>(c => c.State == "INACTIVE" && c.Pid == null, "nobody provides its requirement");
        (await ProbeServices.EventsAsync(vm, "gate-unmet")).Should().BeEmpty("a component whose requires are unmet never runs");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-019")]
    public async Task When_a_provider_dies_its_dependent_is_stopped_and_comes_back_once_with_it()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker(),
            ProbeServices.Service("loss-dependent", "loss.dependent", ["loss.provider"]),
            ProbeServices.Service("loss-provider", "loss.provider", ["kernel.memory"]));
        var before = await ctl.WaitForStatusAsync(s => s.Find("loss-dependent") is { State: "ACTIVE", Pid: not null }, Scaled(TimeSpan.FromSeconds(20)),
            "loss-provider and loss-dependent ACTIVE");
        var (providerPid, dependentPid) = (before["loss-provider"].Pid!.Value, before["loss-dependent"].Pid!.Value);
        await ProbeServices.WaitForStartsAsync(vm, "loss-provider", 1, Scaled(TimeSpan.FromSeconds(10)), providerPid); // running, not just forked
        await ProbeServices.WaitForStartsAsync(vm, "loss-dependent", 1, Scaled(TimeSpan.FromSeconds(10)), dependentPid);

        await vm.Shell.SucceedAsync($"kill -KILL {providerPid}");
        var back = await ctl.WaitForStatusAsync(
            s => s.Find("loss-provider") is { State: "ACTIVE", Pid: { } p } && p != providerPid && s.Find("loss-dependent") is { State: "ACTIVE", Pid: { } d } && d != dependentPid,
            Scaled(TimeSpan.FromSeconds(30)), "loss-provider and loss-dependent ACTIVE again with new pids");
        var first = await ProbeServices.ProcessAsync(vm, dependentPid);

        Output.WriteLine($"after the provider came back: {back["loss-provider"]}, {back["loss-dependent"]}; " +
                         $"first dependent pid {dependentPid}: {first.State}");
        (await ctl.SendAsync("caps")).Should().MatchRegex(@"loss\.dependent\s+UP\s+loss-dependent");
        await ExpectDefectAsync(KnownDefects.DependentLeftRunning,
            () => first.Alive.Should().BeFalse("the dependent whose requirement vanished is stopped; its restart must not run beside it (pid {0} is {1})", dependentPid, first.State),
            async () => $"{await ResolverLogTextAsync()}\nfirst instance pid {dependentPid} after the dependent's restart: {(first.Alive ? "alive" : "gone")}");
    }

    [GuestFact]
    public async Task A_service_killed_with_SIGKILL_comes_back_with_a_new_pid_one_more_restart_and_not_before_the_restart_delay()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker(), ProbeServices.Service("crash-probe", "crash.probe", ["kernel.memory"]));
        var before = await ctl.WaitForActiveAsync("crash-probe", Scaled(TimeSpan.FromSeconds(15)));
        await ProbeServices.WaitForStartsAsync(vm, "crash-probe", 1, Scaled(TimeSpan.FromSeconds(10)), before.Pid); // running, not just forked

        await vm.Shell.SucceedAsync($"kill -KILL {before.Pid}");
        var after = (await ctl.WaitForStatusAsync(s => s.Find("crash-probe") is { State: "ACTIVE", Pid: { } p } && p != before.Pid,
            Scaled(TimeSpan.FromSeconds(30)), "crash-probe ACTIVE again with a new pid"))["crash-probe"];

        var starts = (await ProbeServices.WaitForStartsAsync(vm, "crash-probe", 2, Scaled(TimeSpan.FromSeconds(10)), after.Pid)).Where(e => e.Kind == "start").ToList();
        var forks = StartTimes(await ResolverLogAsync(), "crash-probe");
        Output.WriteLine($"before: {before}; after: {after}; the resolver started it at {string.Join(", ", forks.Select(t => t.ToString("F3")))} (kernel time)");
        after.Restarts.Should().Be(before.Restarts + 1, "one crash, one restart");
        starts.Should().HaveCount(2, "the killed instance and its one restart ran");
        forks.Should().HaveCount(2);
        (forks[1] - forks[0]).Should().BeGreaterThan(MinRestartGap, "YakirOS restarts a FAILED component only when 5 whole seconds have passed since its last start");
        starts[1].Pid.Should().Be(after.Pid, "the status shows the pid of the running instance");
        var log = (await vm.Shell.SucceedAsync("cat /run/graph/crash-probe.log")).Stdout;
        System.Text.RegularExpressions.Regex.Matches(log, @"Starting component 'crash-probe' \(pid \d+\)").Should().HaveCount(2,
            "a component's log keeps every run's output (the resolver appends to /run/graph/<name>.log):\n{0}", log);
    }

    [GuestFact]
    public async Task A_service_that_exits_with_status_0_is_restarted_not_treated_as_done()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker(), ProbeServices.Service("quitter", "quitter.cap", ["kernel.memory"], body: "exit 0"));

        var log = await WaitForLogAsync(l => StartTimes(l, "quitter").Count >= 2, TimeSpan.FromSeconds(30),
            "quitter (a service, not a oneshot, that exits 0) being started again");
        var row = (await ctl.StatusAsync())["quitter"];

        Output.WriteLine($"{row}\n{string.Join('\n', log.Where(l => l.Message.Contains("quitter", StringComparison.Ordinal)))}");
        row.State.Should().NotBe("DONE", "DONE is a oneshot's state; a service that exits is restarted whatever its exit status");
    }

    [GuestFact]
    public async Task A_service_that_crashes_in_a_loop_backs_off_after_five_starts()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker(), ProbeServices.Service("crash-loop", "crash.loop", ["kernel.memory"], body: "exit 1"));

        await WaitForLogAsync(l => l.Any(x => x.Message == "component 'crash-loop' restarting too fast, backing off"), TimeSpan.FromSeconds(60),
            "the resolver backing off crash-loop");
        var row = (await ctl.StatusAsync())["crash-loop"];

        var starts = StartTimes(await ResolverLogAsync(), "crash-loop");
        var gaps = starts.Zip(starts.Skip(1), (a, b) => Math.Round(b - a, 2)).ToList();
        Output.WriteLine($"{row}; the resolver started it at {string.Join(", ", starts.Select(s => s.ToString("F3")))} (kernel time); gaps {string.Join(' ', gaps)} s");
        starts.Should().HaveCount(5, "YakirOS refuses a 6th start within 30 s of the last one (restart_count >= 5)");
        (await ProbeServices.EventsAsync(vm, "crash-loop")).Count(e => e.Kind == "start").Should().Be(5, "each start ran the service");
        gaps.Should().OnlyContain(g => g > MinRestartGap, "each restart waits for 5 whole seconds since the previous start");
        row.Should().Match<ComponentStatus>(c => c.State == "INACTIVE" && c.Restarts == 5, "a backed-off component is INACTIVE with RESTARTS 5 ({0})", row);
    }

    [GuestFact]
    public async Task A_failing_oneshot_is_FAILED_publishes_nothing_and_its_dependent_never_starts()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker(),
            ProbeServices.Service("after-job", "after.job", ["failing.job"]),
            ProbeServices.Service("failing-job", "failing.job", ["kernel.memory"], body: "exit 3", type: "oneshot"));

        var log = await WaitForLogAsync(l => l.Count(x => x.Message == "oneshot 'failing-job' failed (status 768)") >= 2, TimeSpan.FromSeconds(30),
            "failing-job failing twice (YakirOS retries a failed oneshot like a service)");
        var status = await ctl.StatusAsync();
        var caps = await ctl.SendAsync("caps");

        Output.WriteLine($"{status["failing-job"]}; {status["after-job"]}");
        log.Should().NotContain(x => x.Message == "oneshot 'failing-job' completed successfully");
        caps.Should().NotMatchRegex(@"failing\.job\s+UP", "a failed oneshot provides nothing:\n{0}", caps);
        status["after-job"].Should().Match<ComponentStatus>(c => c.State == "INACTIVE" && c.Pid == null, "its requirement was never met");
        (await ProbeServices.EventsAsync(vm, "after-job")).Should().BeEmpty("the dependent of a failed oneshot never runs");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-021")]
    public async Task A_reload_while_a_oneshot_runs_publishes_nothing_and_starts_none_of_its_dependents()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm,
            ProbeServices.Service("early-dependent", "early.dependent", ["early.job"]),
            // The job runs until the test ends (however slow the host), then would fail.
            ProbeServices.Service("early-job", "early.job", ["kernel.memory"], body: "while [ ! -e $DIR/release ]; do sleep 0.2; done\nexit 1", type: "oneshot"));
        await ProbeServices.WaitForStartsAsync(vm, "early-job", 1, Scaled(TimeSpan.FromSeconds(10)));

        // Any change in /etc/graph.d makes YakirOS reload every component, while the oneshot is still running.
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("unrelated", "unrelated.cap", ["kernel.memory"]));
        var caps = await ctl.SendAsync("caps");
        var job = (await ctl.StatusAsync())["early-job"];

        Output.WriteLine($"{job}\n{caps}");
        job.State.Should().Be("ACTIVE", "the oneshot is still running (it waits for a release that never comes)");
        await ExpectDefectAsync(KnownDefects.ReloadPublishesRunningOneshot, () =>
        {
            caps.Should().NotMatchRegex(@"early\.job\s+UP", "a oneshot provides its capabilities only when it exits 0:\n{0}", caps);
        }, caps);
        var dependent = await ProbeServices.EventsAsync(vm, "early-dependent");
        dependent.Should().BeEmpty("the dependent of a oneshot that has not succeeded never runs");
    }

    [GuestFact]
    public async Task An_orphan_of_a_service_is_reparented_to_PID_1_and_reaped_by_it()
    {
        var (vm, ctl) = await GuestAsync();
        // The service's child forks `sleep 600` and exits at once: the sleep is an orphan. The test ends it; PID 1 must reap it.
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("orphan-maker", "orphan.maker", ["kernel.memory"],
            body: "sh -c \"sleep 600 & echo \\$! > $DIR/orphan.pid\""));
        var pidFile = $"{ProbeServices.Dir("orphan-maker")}/orphan.pid";
        await vm.Shell.WaitUntilSucceedsAsync($"test -s {pidFile}", Scaled(TimeSpan.FromSeconds(15)));
        var orphan = int.Parse((await vm.Shell.SucceedAsync($"cat {pidFile}")).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);

        var whileAlive = await ProbeServices.ProcessAsync(vm, orphan);
        await vm.Shell.SucceedAsync($"kill {orphan}");
        await Deadline.PollAsync(async _ => (await ProbeServices.ProcessAsync(vm, orphan)).State is "gone" or ['Z', ..], Scaled(TimeSpan.FromSeconds(15)),
            TimeSpan.FromMilliseconds(250), () => $"the orphan {orphan} (sleep 600) did not end after SIGTERM");
        var after = await WaitForZombieToGoAsync(vm, orphan);

        Output.WriteLine($"orphan {orphan}: while running {whileAlive.State}, parent {whileAlive.ParentPid}; afterwards {after}");
        whileAlive.ParentPid.Should().Be(1, "an orphan of a component is reparented to PID 1 (no subreaper stands between them)");
        after.Should().Be("gone", "PID 1 reaps the orphan when it exits; a zombie with parent 1 means it does not");
        (await ResolverLogAsync()).Should().Contain(l => l.Message == $"reaped orphan pid {orphan}", "the resolver reaps and logs the orphan");
    }

    /// <summary>Kernel times at which the resolver logged starting <paramref name="component"/> (its fork, not the service's first line).</summary>
    private static List<double> StartTimes(IReadOnlyList<ResolverLogLine> log, string component) =>
        log.Where(l => l.Message.StartsWith($"starting component '{component}'", StringComparison.Ordinal)).Select(l => l.Time).ToList();

    private static async Task<string> WaitForZombieToGoAsync(VirtualMachine vm, int pid)
    {
        var last = "";
        await Deadline.UntilAsync(async _ => (last = (await ProbeServices.ProcessAsync(vm, pid)).State) == "gone", TimeSpan.FromSeconds(5),
            TimeSpan.FromMilliseconds(250));
        return last;
    }
}
