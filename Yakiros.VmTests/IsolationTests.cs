using System.Globalization;
using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, Isolation: test-isolated-service runs in its own cgroup with the configured limits, the limits bite,
/// and it lives in its own PID, mount and UTS namespaces with the configured hostname.
/// Everything is read from /proc and /sys/fs/cgroup by the harness, never from the configuration text.
/// </summary>
[Trait("Category", Categories.Isolation)]
[Collection(YakirosCollection.Name)]
public sealed class IsolationTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    private const string Service = "test-isolated-service";

    private ComponentDefinition Definition => Fixture.Components.Single(c => c.Name == Service);

    private string CgroupDir => "/sys/fs/cgroup/graph/" + (Definition.Value("resources", "cgroup")?.Trim('/') ?? Service);

    [GuestFact(ReadsOnly = true)]
    public async Task The_service_runs_in_its_own_cgroup_at_the_YakirOS_path()
    {
        var (vm, ctl) = await GuestAsync();
        var pid = await ServicePidAsync(ctl);

        var cgroup = await vm.Shell.SucceedAsync($"cat /proc/{pid}/cgroup");

        cgroup.Stdout.Trim().Should().Be($"0::{CgroupDir["/sys/fs/cgroup".Length..]}");
    }

    [GuestFact(ReadsOnly = true)]
    [Trait("KnownDefect", "YK-007")]
    public async Task Memory_cpu_and_pids_limits_hold_the_configured_values()
    {
        var (vm, ctl) = await GuestAsync();
        await ServicePidAsync(ctl);

        await ExpectDefectAsync(KnownDefects.CgroupControllersOff, async () =>
        {
            var limits = await vm.Shell.SucceedAsync($"cd {CgroupDir} && cat memory.max cpu.weight pids.max");
            limits.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(
                Bytes(Definition.Value("resources", "memory_max")!).ToString(CultureInfo.InvariantCulture),
                Definition.Value("resources", "cpu_weight"),
                Definition.Value("resources", "pids_max"));
        }, ResolverBootLogTextAsync);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-007")]
    public async Task A_fork_bomb_in_the_service_cgroup_is_stopped_at_pids_max()
    {
        var (vm, ctl) = await GuestAsync();
        await ServicePidAsync(ctl);
        var pidsMax = int.Parse(Definition.Value("resources", "pids_max")!, CultureInfo.InvariantCulture);
        // A python process joins the service's cgroup and forks sleeping children until the kernel refuses.
        var bomb = $$"""
            import errno, os, signal, sys
            cg = '{{CgroupDir}}'
            if not os.path.exists(cg + '/pids.max'):
                sys.exit('controller files absent: %s/pids.max does not exist' % cg)
            open(cg + '/cgroup.procs', 'w').write(str(os.getpid()))
            kids, refused = [], None
            for _ in range({{pidsMax * 3}}):
                try:
                    pid = os.fork()
                except OSError as e:
                    refused = errno.errorcode[e.errno]
                    break
                if pid == 0:
                    signal.pause()
                    os._exit(0)
                kids.append(pid)
            current = open(cg + '/pids.current').read().strip()
            for k in kids:
                os.kill(k, signal.SIGKILL)
            print(len(kids), refused, current, open(cg + '/pids.max').read().strip())
            """;

        await ExpectDefectAsync(KnownDefects.CgroupControllersOff, async () =>
        {
            await vm.Shell.UploadAsync(bomb, "/run/yakiros-fork-bomb.py");
            var result = await vm.Shell.SucceedAsync("python3 /run/yakiros-fork-bomb.py", TimeSpan.FromSeconds(60));
            var f = result.Stdout.Trim().Split(' ');
            Output.WriteLine($"children started: {f[0]}, fork refused with: {f[1]}, pids.current at the peak: {f[2]}, pids.max: {f[3]}");
            f[1].Should().Be("EAGAIN", "the kernel must refuse the fork once the cgroup holds pids.max tasks");
            int.Parse(f[2], CultureInfo.InvariantCulture).Should().Be(pidsMax, "the cgroup fills up to pids.max and no further");
        }, ResolverBootLogTextAsync);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-007")]
    public async Task Cpu_max_throttles_a_busy_process_in_the_service_cgroup_to_the_configured_share()
    {
        var (vm, ctl) = await GuestAsync();
        await ServicePidAsync(ctl);
        var cpuMax = Definition.Value("resources", "cpu_max")!; // "50000 100000": 50 ms of CPU per 100 ms period
        var share = double.Parse(cpuMax.Split(' ')[0], CultureInfo.InvariantCulture) / double.Parse(cpuMax.Split(' ')[1], CultureInfo.InvariantCulture);
        // A python process joins the service's cgroup and spins for 3 s of wall time; cpu.stat says what it got.
        var burn = $$"""
            import os, sys, time
            cg = '{{CgroupDir}}'
            if not os.path.exists(cg + '/cpu.max'):
                sys.exit('no %s/cpu.max' % cg)
            def stat():
                return dict(l.split() for l in open(cg + '/cpu.stat'))
            open(cg + '/cgroup.procs', 'w').write(str(os.getpid()))
            a, t0 = stat(), time.monotonic()
            while time.monotonic() - t0 < 3:
                pass
            b, t1 = stat(), time.monotonic()
            print(open(cg + '/cpu.max').read().strip(), (int(b['usage_usec']) - int(a['usage_usec'])) / 1e6, t1 - t0,
                  int(b['nr_throttled']) - int(a['nr_throttled']))
            """;

        await ExpectDefectAsync(KnownDefects.CgroupControllersOff, async () =>
        {
            await vm.Shell.UploadAsync(burn, "/run/yakiros-cpu-burn.py");
            var result = await vm.Shell.SucceedAsync("python3 /run/yakiros-cpu-burn.py", TimeSpan.FromSeconds(60));
            var f = result.Stdout.Trim().Split(' ');
            var (used, wall, throttled) = (double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture));
            Output.WriteLine($"cpu.max {f[0]} {f[1]}: used {used:F2} s of CPU in {wall:F2} s ({used / wall:P0}), throttled in {throttled} periods");
            $"{f[0]} {f[1]}".Should().Be(cpuMax, "cpu.max holds the configured quota and period");
            throttled.Should().BePositive("a process that spins in the cgroup is throttled by cpu.max");
            (used / wall).Should().BeLessThan(share + 0.1, "cpu.max {0} allows {1:P0} of one CPU", cpuMax, share);
        }, ResolverBootLogTextAsync);
    }

    [GuestFact(ReadsOnly = true)]
    [Trait("KnownDefect", "YK-014")]
    public async Task PID_mount_and_UTS_namespaces_differ_from_PID_1_and_the_hostname_is_configured()
    {
        var (vm, ctl) = await GuestAsync();
        var pid = await ServicePidAsync(ctl);

        var ns = await vm.Shell.SucceedAsync(
            $"for t in mnt uts pid; do echo $t $(readlink /proc/{pid}/ns/$t) $(readlink /proc/1/ns/$t); done; " +
            $"nsenter -t {pid} -u hostname; grep NSpid /proc/{pid}/status; readlink /proc/{pid}/ns/pid_for_children");

        Output.WriteLine(ns.Stdout);
        var lines = ns.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var line in lines.Take(2))
        {
            var f = line.Split(' ');
            f[1].Should().NotBe(f[2], $"the {f[0]} namespace of {Service} must not be PID 1's ({line})");
        }
        lines[3].Should().Be(Definition.Value("isolation", "hostname"), "the UTS namespace carries the configured hostname");
        var pidNs = lines[2].Split(' ');
        var observed = $"ns/pid {pidNs[1]} PID 1's {pidNs[2]} pid_for_children {lines.ElementAtOrDefault(5)} {lines.ElementAtOrDefault(4)}";
        await ExpectDefectAsync(KnownDefects.ServiceOutsideItsPidNamespace,
            () => pidNs[1].Should().NotBe(pidNs[2], $"the service itself must live in its own PID namespace, not only its children ({observed})"), observed);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-007")]
    public async Task A_memory_hog_meets_OOM_handling_the_state_shows_it_and_no_duplicate_is_left_behind()
    {
        var (vm, ctl) = await GuestAsync();
        const string cgroup = "/sys/fs/cgroup/graph/memory-hog";
        // sh stays behind when its python child is OOM-killed: a correct init stops the whole instance before a restart.
        // YakirOS decides a restart (after its 5-s gap) only on an event: the ticker's 1-s health check gives it one each second.
        await ProbeServices.InstallAsync(vm, ProbeServices.Ticker());
        await vm.Shell.UploadAsync("#!/bin/sh\npython3 -c 'import time; time.sleep(1); b = bytearray(96 << 20); time.sleep(100000)'\nexec sleep 100000\n",
            "/run/yakiros-memory-hog.sh", "755");
        await GeneratedComponents.InstallAsync(vm, [("memory-hog", """
            [component]
            name = "memory-hog"
            binary = "/bin/sh"
            args = ["/run/yakiros-memory-hog.sh"]
            [requires]
            capabilities = ["kernel.memory"]
            [resources]
            memory_max = "32M"
            """)]);

        // The kernel makes a cgroup's interface files with the directory: once the resolver has made it, memory.max is
        // there at once when the memory controller is on, so the check decides without waiting.
        await vm.Shell.WaitUntilSucceedsAsync($"test -d {cgroup}", Scaled(TimeSpan.FromSeconds(15)));
        var limited = (await vm.Shell.RunAsync($"test -e {cgroup}/memory.max")).ExitCode == 0;
        await ExpectDefectAsync(KnownDefects.CgroupControllersOff,
            () => limited.Should().BeTrue("memory_max = \"32M\" needs the memory controller in the component's cgroup ({0}/memory.max)", cgroup),
            ResolverBootLogTextAsync);
        await vm.Shell.WaitUntilSucceedsAsync($"grep -q 'oom_kill [1-9]' {cgroup}/memory.events", Scaled(TimeSpan.FromSeconds(60)));
        // After the restart that follows the OOM, one instance may run: a survivor of the first one would make two.
        var handled = await ctl.WaitForStatusAsync(s => s.Find("memory-hog") is { Restarts: >= 2 }, Scaled(TimeSpan.FromSeconds(30)), "memory-hog restarted after its OOM kill");
        var instances = int.Parse((await vm.Shell.RunAsync("pgrep -c -f '^/bin/sh /run/yakiros-memory-hog.sh$|^sleep 100000$'")).Stdout.Trim(), CultureInfo.InvariantCulture);

        Output.WriteLine($"after the OOM kill: {handled["memory-hog"]}; hog processes alive: {instances}");
        (await ResolverLogAsync()).Should().Contain(l => l.Message.StartsWith("component 'memory-hog' hit OOM limit", StringComparison.Ordinal), "the resolver notices the OOM kill");
        await ExpectDefectAsync(KnownDefects.OomSurvivorLeftRunning,
            () => instances.Should().BeLessThanOrEqualTo(1, "the OOM-killed instance must be stopped as a whole, not left running next to its restart"),
            async () => $"{await ResolverLogTextAsync()}\nhog instances alive after the restart: {instances}");
    }

    [GuestFact]
    public async Task A_services_cgroup_is_removed_when_the_service_dies()
    {
        var (vm, ctl) = await GuestAsync();
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("cgroup-victim", "cgroup.victim", ["kernel.memory"]));
        var running = await ctl.WaitForActiveAsync("cgroup-victim", Scaled(TimeSpan.FromSeconds(15)));
        // Its script has run (only `busybox sleep infinity` is left): killed while a start-up command still ran, the child would keep the cgroup busy.
        await ProbeServices.WaitForStartsAsync(vm, "cgroup-victim", 1, Scaled(TimeSpan.FromSeconds(10)), running.Pid);
        const string cgroup = "/sys/fs/cgroup/graph/cgroup-victim";
        var during = (await vm.Shell.SucceedAsync($"cat {cgroup}/cgroup.procs; stat -c 'inode %i' {cgroup}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        await vm.Shell.SucceedAsync($"kill -KILL {running.Pid}");
        await ctl.WaitForStatusAsync(s => s.Find("cgroup-victim")?.Pid != running.Pid, Scaled(TimeSpan.FromSeconds(10)), "the resolver noticing cgroup-victim's death");
        // A restart may already have made the cgroup again: then it must be a new cgroup (a new kernfs inode), not the old one left behind.
        var after = (await vm.Shell.RunAsync($"stat -c 'inode %i' {cgroup} 2>/dev/null || echo removed")).Stdout.Trim();

        during.Should().Contain(running.Pid!.Value.ToString(CultureInfo.InvariantCulture), "the service runs inside its cgroup");
        after.Should().NotBe(during[^1], "the resolver removes a component's cgroup when its process exits (the cgroup's {0} is still there)", during[^1]);
    }

    [GuestFact]
    public async Task A_components_cgroup_exists_while_it_runs_and_is_removed_after_it_stops()
    {
        var (vm, ctl) = await GuestAsync();
        const string cgroup = "/sys/fs/cgroup/graph/short-job";
        // The job runs until the test releases it: no timed sleep that a slow host could outrun.
        var release = $"{ProbeServices.Dir("short-job")}/release";
        await ProbeServices.InstallAsync(vm, ProbeServices.Service("short-job", "short.job", ["kernel.memory"],
            body: $"while [ ! -e {release} ]; do sleep 0.2; done", type: "oneshot"));

        var running = await ctl.WaitForStatusAsync(s => s.Find("short-job") is { State: "ACTIVE", Pid: not null }, TimeSpan.FromSeconds(30), "short-job running");
        var during = await vm.Shell.SucceedAsync($"cat {cgroup}/cgroup.procs");
        await vm.Shell.SucceedAsync($"mkdir -p {ProbeServices.Dir("short-job")} && touch {release}");
        await ctl.WaitForStatusAsync(s => s.Find("short-job")?.State == "DONE", Scaled(TimeSpan.FromSeconds(15)), "short-job DONE");

        during.Stdout.Split('\n').Should().Contain(running["short-job"].Pid!.Value.ToString(CultureInfo.InvariantCulture), "the job runs inside its cgroup");
        (await vm.Shell.RunAsync($"test -e {cgroup} && echo present || echo removed")).Stdout.Trim().Should().Be("removed", "a finished oneshot's cgroup is removed");
    }

    private static async Task<int> ServicePidAsync(GraphCtl ctl) => (await ctl.WaitForActiveAsync(Service, TimeSpan.FromSeconds(30))).Pid!.Value;

    private static long Bytes(string value) => value[^1] switch
    {
        'K' or 'k' => long.Parse(value[..^1], CultureInfo.InvariantCulture) << 10,
        'M' or 'm' => long.Parse(value[..^1], CultureInfo.InvariantCulture) << 20,
        'G' or 'g' => long.Parse(value[..^1], CultureInfo.InvariantCulture) << 30,
        _ => long.Parse(value, CultureInfo.InvariantCulture),
    };
}
