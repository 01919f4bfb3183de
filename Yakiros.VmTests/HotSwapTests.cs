using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, Hot-swap (FD passing): `graphctl upgrade test-echo-server` replaces the running echo server with a new
/// instance that inherits its listening socket and its open connections. A client streaming numbered lines through
/// the forwarded port must see a pause, never a drop, a lost, duplicated or reordered echo. The echo server
/// implements YakirOS's handoff protocol (guest-config/services/test-echo-server): on SIGUSR1 it passes the listener
/// and its connections over its handoff channel (fd 4); the successor receives them on fd 4 and answers HANDOFF_COMPLETE.
/// </summary>
[Trait("Category", Categories.HotSwap)]
[Collection(YakirosServicesCollection.Name)]
public sealed class HotSwapTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    private const string Echo = "test-echo-server";
    private const int Port = YakirosVmFixture.EchoPort;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    [GuestFact]
    [Trait("KnownDefect", "YK-010")]
    public async Task A_persistent_connection_survives_an_upgrade_with_every_echo_back_once_and_in_order()
    {
        var (vm, ctl) = await GuestAsync();
        var before = await ActiveEchoAsync(ctl);
        await using var stream = await EchoStream.OpenAsync(vm, Port, Interval, CancellationToken.None);
        await stream.WaitForMoreAsync(10, TimeSpan.FromSeconds(10), CancellationToken.None);

        var swap = await HotSwap.UpgradeAsync(vm, ctl, Echo, before);
        await stream.WaitForMoreAsync(25, TimeSpan.FromSeconds(10), CancellationToken.None);
        var report = await stream.StopAsync(TimeSpan.FromSeconds(10));

        Output.WriteLine($"{swap.Describe()}\nstream: {report.Describe()}");
        await ExpectDefectAsync(KnownDefects.HotSwapDropsConnections,
            () => report.Intact.Should().BeTrue("an FD-passing upgrade keeps the client's connection: {0}", report.Describe()),
            () => HandoffEvidenceAsync(vm, before));
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-010")]
    public async Task The_listening_socket_and_the_open_connection_are_handed_to_the_new_instance()
    {
        var (vm, ctl) = await GuestAsync();
        var before = await ActiveEchoAsync(ctl);
        var inodeBefore = await HotSwap.ListenerInodeAsync(vm, Port);
        await using var idle = await EchoStream.OpenAsync(vm, Port, TimeSpan.FromHours(1), CancellationToken.None);

        var swap = await HotSwap.UpgradeAsync(vm, ctl, Echo, before);

        var inodeAfter = await HotSwap.ListenerInodeAsync(vm, Port);
        var newFds = await vm.Shell.RunAsync($"ls -l /proc/{swap.After.Pid}/fd 2>&1 | grep -o 'socket:\\[[0-9]*\\]' | sort -u | tr '\\n' ' '");
        var ready = await vm.Shell.RunAsync($"cat /run/yakiros-tests/{Echo}/ready");
        var events = await vm.Shell.RunAsync($"grep -F 'pid={before.Pid} handoff' /run/yakiros-tests/{Echo}/events");
        var log = await ResolverLogTextAsync();
        Output.WriteLine($"{swap.Describe()}\nlistener inode {inodeBefore} -> {inodeAfter}; new pid's sockets: {newFds.Stdout}\n" +
                         $"ready file:\n{ready.Stdout}\nold instance: {events.Stdout}\nresolver log:\n{log}");
        await ExpectDefectAsync(KnownDefects.HotSwapDropsConnections, () =>
        {
            inodeAfter.Should().Be(inodeBefore, "the listening socket must be the same socket (listening socket inode changed means it was re-bound)");
            newFds.Stdout.Should().Contain($"socket:[{inodeBefore}]", "the new instance holds the inherited listener");
            ready.Stdout.Should().Contain("listener=inherited", "the new instance received the listener over fd 4 (listener=bound means it was not)")
                .And.Contain("adopted=1", "it adopted the one open connection").And.Contain("handoff=yes");
            events.Stdout.Should().Contain("passed listening socket and 1 connection(s)", "the old instance sent its sockets on SIGUSR1");
            log.Should().NotContain("falling back", "the resolver must complete the FD-passing hand-off, not fall back to a restart");
        }, () => HandoffEvidenceAsync(vm, before));
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-010")]
    public async Task A_client_connecting_in_the_middle_of_the_swap_is_served()
    {
        var (vm, ctl) = await GuestAsync();
        var before = await ActiveEchoAsync(ctl);
        var inodeBefore = await HotSwap.ListenerInodeAsync(vm, Port);
        using var stop = new CancellationTokenSource();

        var clients = Task.Run(() => HotSwap.ConnectRepeatedlyAsync(vm, Port, stop.Token));
        HotSwap.Result swap;
        List<HotSwap.Attempt> attempts;
        try
        {
            swap = await HotSwap.UpgradeAsync(vm, ctl, Echo, before);
            await Task.Delay(TimeSpan.FromMilliseconds(500)); // a few more clients against the new instance
        }
        finally
        {
            await stop.CancelAsync(); // the client loop never outlives the test, whatever the upgrade did
            attempts = await clients;
        }
        var inodeAfter = await HotSwap.ListenerInodeAsync(vm, Port);

        var failures = attempts.Where(a => a.Error is not null).ToList();
        Output.WriteLine($"{swap.Describe()}\n{attempts.Count} new clients during the swap, {failures.Count} failed; listener inode {inodeBefore} -> {inodeAfter}");
        foreach (var f in failures.Take(10)) Output.WriteLine($"  client at {f.StartedAt.TotalMilliseconds:0} ms: {f.Error}");
        attempts.Should().HaveCountGreaterThan(3, "clients kept connecting while the upgrade ran");
        await ExpectDefectAsync(KnownDefects.HotSwapDropsConnections, () =>
        {
            failures.Should().BeEmpty("every client that connects during the swap is served; {0} of {1} failed, first: {2}",
                failures.Count, attempts.Count, failures.FirstOrDefault()?.Error);
            inodeAfter.Should().Be(inodeBefore, "the swap hands the listener over (listening socket inode changed means it was re-bound)");
        }, () => HandoffEvidenceAsync(vm, before));
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-015")]
    public async Task An_upgrade_replies_as_soon_as_the_new_instance_runs()
    {
        var (vm, ctl) = await GuestAsync();
        await GeneratedComponents.InstallAsync(vm, [("plain-upgrade", GeneratedComponents.Service("plain-upgrade", "plain.upgrade", ["kernel.memory"]))]);
        var before = await ctl.WaitForActiveAsync("plain-upgrade", Scaled(TimeSpan.FromSeconds(15)));

        var swap = await HotSwap.UpgradeAsync(vm, ctl, "plain-upgrade", before);

        Output.WriteLine(swap.Describe());
        await ExpectDefectAsync(KnownDefects.UpgradeWaitsForService,
            () => swap.Reply.Should().NotBeNull("`upgrade` answers when the upgrade is done, not when the new instance exits ({0})", swap.Describe()),
            swap.HeldConnection ?? "(the new instance holds no control connection)");
    }

    /// <summary>What YakirOS did in the swap: its upgrade log lines, and the old instance's record of the SIGUSR1 it got.</summary>
    private async Task<string> HandoffEvidenceAsync(VirtualMachine vm, ComponentStatus before) =>
        $"{await ResolverLogTextAsync()}\n{(await vm.Shell.RunAsync($"grep -F 'pid={before.Pid} handoff' /run/yakiros-tests/{Echo}/events")).Stdout}";

    private static Task<ComponentStatus> ActiveEchoAsync(GraphCtl ctl) => ctl.WaitForActiveAsync(Echo, TimeSpan.FromSeconds(20));
}
