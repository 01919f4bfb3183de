using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>Step 11, Basic: YakirOS boots as PID 1, loads and starts its graph, and answers on its control socket.</summary>
[Trait("Category", Categories.Basic)]
[Collection(YakirosCollection.Name)]
public sealed partial class BasicTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    [GuestFact(ReadsOnly = true)]
    public async Task PID_1_is_graph_resolver()
    {
        var (vm, _) = await GuestAsync();

        var pid1 = await vm.Shell.SucceedAsync("cat /proc/1/comm; readlink /proc/1/exe; readlink -f /sbin/graph-resolver");

        var lines = pid1.Stdout.Split('\n');
        lines[0].Should().Be("graph-resolver");
        lines[1].Should().Be(lines[2], "PID 1 runs the build under test, installed as /sbin/graph-resolver");
        Output.WriteLine(Fixture.Boot.Describe());
    }

    [GuestFact(ReadsOnly = true)]
    [Trait("KnownDefect", "YK-001")]
    public async Task PID_1_answered_throughout_boot_although_its_children_exited()
    {
        await GuestAsync();
        await ExpectDefectAsync(KnownDefects.SigchldFreeze, () =>
        {
            Fixture.Boot.Pid1Unresponsive.Should().BeNull("PID 1 must keep serving its control socket after a child exits ({0})", Fixture.Boot.Describe());
            Fixture.Boot.ChildExitObserved.Should().NotBeNull("the fixture runs a oneshot under PID 1 and watches it exit ({0})", Fixture.Boot.Describe());
        }, Fixture.Boot.Pid1Unresponsive ?? "(PID 1 answered)");
    }

    [GuestFact(ReadsOnly = true)]
    public async Task The_control_socket_answers_status_with_a_table_and_a_summary()
    {
        var (_, ctl) = await GuestAsync();

        var status = await ctl.StatusAsync();

        status.Components.Select(c => c.Name).Should().Contain(Fixture.Components.Select(c => c.Name), "every boot component has its row:\n{0}", status.Raw);
        status.Summary.Should().Be(status.SummaryFromRows(), "the summary counts the rows (active = ACTIVE + DONE, starting = STARTING + READY_WAIT):\n{0}", status.Raw);
    }

    [GuestFact(ReadsOnly = true)]
    public async Task Every_boot_component_is_loaded_and_parsed_exactly_once()
    {
        var (_, ctl) = await GuestAsync();

        var status = await ctl.StatusAsync();

        foreach (var component in Fixture.Components)
            status.Components.Count(c => c.Name == component.Name).Should().Be(1, $"{component.File} defines '{component.Name}':\n{status.Raw}");
    }

    [GuestFact(ReadsOnly = true)]
    public async Task Every_boot_service_is_active_every_oneshot_done_and_none_failed()
    {
        var (_, ctl) = await GuestAsync();

        var status = await ctl.WaitForStatusAsync(
            s => Fixture.Components.All(c => s.Find(c.Name)?.State == (c.IsOneshot ? "DONE" : "ACTIVE")),
            TimeSpan.FromSeconds(30), "every boot service ACTIVE and every oneshot DONE");

        status.Components.Where(c => c.State == "FAILED").Should().BeEmpty(status.Raw);
    }

    [GuestFact(ReadsOnly = true)]
    [Trait("KnownDefect", "YK-002")]
    public async Task The_graphctl_binary_reaches_the_resolver_without_a_manual_symlink()
    {
        var (vm, ctl) = await GuestAsync();
        (await vm.Shell.RunAsync("test -e /tmp/graph-resolver.sock")).ExitCode.Should().NotBe(0, "the harness must not create a compatibility symlink");

        var result = await ctl.GraphctlAsync("status");

        await ExpectDefectAsync(KnownDefects.GraphctlSocketPath, () =>
        {
            result.ExitCode.Should().Be(0, result.Describe());
            result.Stdout.Should().Contain("COMPONENT").And.Contain("Summary:");
        }, result.Stdout + result.Stderr);
    }

    [GuestFact(ReadsOnly = true)]
    [Trait("KnownDefect", "YK-003")]
    public async Task The_init_mounts_run_and_dev_pts()
    {
        await GuestAsync();
        var mounts = Fixture.Boot.Mounts; // PID 1's mountinfo once the graph settled, before any harness workaround

        await ExpectDefectAsync(KnownDefects.EarlyMounts, () =>
        {
            // The harness's pre-init leaves these two to the init under test (yakiros.leave-mounts=run,devpts).
            mounts.Should().Contain("/run tmpfs", $"/run is not mounted by the init:\n{Fixture.Boot.InitMounts}");
            mounts.Should().Contain("/dev/pts devpts", $"/dev/pts is not mounted by the init:\n{Fixture.Boot.InitMounts}");
        }, ResolverBootLogTextAsync);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-016")]
    public async Task A_component_file_renamed_into_graph_d_is_loaded()
    {
        var (vm, ctl) = await GuestAsync();
        // Configuration tools install files atomically: write a temporary file, then rename it into place.
        await GeneratedComponents.StageAsync(vm, [("renamed-in", GeneratedComponents.Service("renamed-in", "renamed.in", ["kernel.memory"]))]);

        await vm.Shell.SucceedAsync($"mv {GeneratedComponents.Staging}/zz-renamed-in.toml /etc/graph.d/");

        // Two control requests after the rename: YakirOS serves them from the loop that reads its inotify events, so once
        // the second is answered a noticed rename has been read (a short grace covers a build that batches its events).
        // A build that did not notice is judged then, not after the wait for ACTIVE.
        await ctl.StatusAsync();
        await ctl.StatusAsync();
        var noticed = await Deadline.UntilAsync(async _ => (await ResolverLogAsync()).Any(l => l.Message == "graph.d changed, reloading")
                                                           || (await ctl.StatusAsync()).Find("renamed-in") is not null,
            Scaled(TimeSpan.FromSeconds(1)), TimeSpan.FromMilliseconds(250));
        await ExpectDefectAsync(KnownDefects.RenameNotNoticed, async () =>
            {
                noticed.Should().BeTrue("the resolver must notice a TOML renamed into /etc/graph.d (a reload, or the component in `status`)");
                await ctl.WaitForStatusAsync(s => s.Find("renamed-in") is { State: "ACTIVE" }, Scaled(TimeSpan.FromSeconds(5)),
                    "renamed-in (a TOML renamed into /etc/graph.d) being loaded and ACTIVE");
            },
            async () =>
            {
                var onDisk = (await vm.Shell.RunAsync("test -e /etc/graph.d/zz-renamed-in.toml")).ExitCode == 0;
                var reloads = (await ResolverLogAsync()).Count(l => l.Message == "graph.d changed, reloading");
                return $"renamed file on disk: {(onDisk ? "yes" : "no")}; `graph.d changed, reloading` logged since the rename: {reloads}";
            });
    }
}
