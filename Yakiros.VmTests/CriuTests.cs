using System.Text.Json;
using FluentAssertions.Execution;
using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, CRIU checkpointing: the stateful service keeps a counter in memory only, so a value that survives a
/// checkpoint and restore proves the process state was preserved. Every test first asks the guest's own
/// `criu check`; where it fails, the test is skipped with CRIU's reason. Checkpoints live in
/// /var/lib/graph/checkpoints/&lt;component&gt;/&lt;id&gt;/ with a metadata.json beside CRIU's images.
/// </summary>
[Trait("Category", Categories.Criu)]
[Collection(YakirosServicesCollection.Name)]
public sealed class CriuTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output), IDisposable
{
    private const string Stateful = "test-stateful-service";
    private const string Store = "/var/lib/graph/checkpoints/" + Stateful;
    private StatefulClient? _http;

    [GuestFact]
    [Trait("KnownDefect", "YK-011")]
    public async Task A_checkpoint_stores_CRIU_images_and_metadata_and_leaves_the_service_running()
    {
        var (vm, ctl, http) = await CriuGuestAsync();
        var running = (await ctl.StatusAsync())[Stateful];
        await http.IncrementAsync(3);

        var reply = await ctl.SendAsync($"checkpoint {Stateful}", TimeSpan.FromSeconds(60));

        Output.WriteLine(reply);
        await ExpectCheckpointAsync(reply);
        var dir = await LatestCheckpointAsync(vm);
        var files = (await vm.Shell.SucceedAsync($"ls {dir}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var metadata = JsonDocument.Parse((await vm.Shell.SucceedAsync($"cat {dir}/metadata.json")).Stdout);
        var root = metadata.RootElement;
        var after = (await ctl.StatusAsync())[Stateful];
        var state = await http.StateAsync();
        var criu = System.Text.RegularExpressions.Regex.Match((await vm.Shell.SucceedAsync("criu --version")).Stdout, @"Version: (\d+)\.(\d+)");

        Output.WriteLine($"{dir}: {string.Join(' ', files)}");
        using (new AssertionScope())
        {
            files.Should().Contain(["metadata.json", "inventory.img", "pstree.img", $"core-{running.Pid}.img"], "CRIU's images of the dumped pid sit beside the metadata");
            root.GetProperty("component_name").GetString().Should().Be(Stateful);
            root.GetProperty("original_pid").GetInt32().Should().Be(running.Pid, "the metadata names the process that was dumped");
            root.GetProperty("image_size").GetInt64().Should().BePositive();
            root.GetProperty("criu_version").GetProperty("major").GetInt32().ToString().Should().Be(criu.Groups[1].Value, "the guest's criu --version");
            root.GetProperty("criu_version").GetProperty("minor").GetInt32().ToString().Should().Be(criu.Groups[2].Value, "the guest's criu --version");
            after.State.Should().Be("ACTIVE", "leave_running = true");
            after.Pid.Should().Be(running.Pid);
            state.Counter.Should().Be(3, "the dump must not disturb the running service");
        }
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-011")]
    public async Task A_restore_brings_back_the_state_of_the_checkpoint()
    {
        var (vm, ctl, http) = await CriuGuestAsync();
        await http.IncrementAsync(3);
        var reply = await ctl.SendAsync($"checkpoint {Stateful}", TimeSpan.FromSeconds(60));
        Output.WriteLine(reply);

        await ExpectCheckpointAsync(reply);
        var id = Path.GetFileName(await LatestCheckpointAsync(vm));
        await http.IncrementAsync(2);
        (await http.StateAsync()).Counter.Should().Be(5);

        var restore = await ctl.SendAsync($"restore {Stateful} {id}", TimeSpan.FromSeconds(60));
        Output.WriteLine(restore);
        await ctl.WaitForStatusAsync(s => s.Find(Stateful)?.State == "ACTIVE", TimeSpan.FromSeconds(30), $"{Stateful} ACTIVE after the restore");
        var state = await http.StateAsync();

        Output.WriteLine($"after restore: counter {state.Counter}, pid {state.Pid}");
        restore.Should().NotContain("Error", "restoring checkpoint {0} must work", id);
        state.Counter.Should().Be(3, "the restored process has the memory of the checkpoint (5 = never restored, 0 = restarted)");
        (await ctl.StatusAsync())[Stateful].Pid.Should().Be(state.Pid, "the resolver tracks the restored process");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-012")]
    public async Task Checkpoint_list_shows_a_checkpoint_and_checkpoint_rm_removes_it()
    {
        var (vm, ctl, _) = await CriuGuestAsync();
        // A checkpoint directory made by hand keeps this test independent of CRIU dumps (proven above).
        var id = $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        await vm.Shell.SucceedAsync($"mkdir -p {Store}/{id} && printf '{{\"component_name\": \"{Stateful}\", \"original_pid\": 1, \"timestamp\": {id}, \"image_size\": 1}}' > {Store}/{id}/metadata.json");

        var list = await ctl.SendAsync($"checkpoint-list {Stateful}");
        var rm = await ctl.SendAsync($"checkpoint-rm {Stateful} {id}");
        var gone = (await vm.Shell.RunAsync($"test -e {Store}/{id}")).ExitCode != 0;

        Output.WriteLine($"checkpoint-list: {list}\ncheckpoint-rm: {rm}\ndirectory removed: {gone}");
        await ExpectDefectAsync(KnownDefects.CheckpointListUnreachable, () =>
        {
            list.Should().Contain(id, "checkpoint-list names every checkpoint of the component");
            rm.Should().NotContain("Error");
            gone.Should().BeTrue("checkpoint-rm deletes {0}/{1}", Store, id);
        }, $"{list}\n{rm}");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-013")]
    public async Task A_restore_of_an_unknown_checkpoint_leaves_the_running_service_alone()
    {
        var (_, ctl, http) = await CriuGuestAsync();
        var running = (await ctl.StatusAsync())[Stateful];
        await http.IncrementAsync(2);

        var reply = await ctl.SendAsync($"restore {Stateful} 123", TimeSpan.FromSeconds(30));

        var after = (await ctl.StatusAsync())[Stateful];
        var state = await TryStateAsync(http);
        Output.WriteLine($"reply: {reply}\nbefore: pid {running.Pid}; after: {after.State} pid {after.Pid}, counter {state?.Counter.ToString() ?? "(no answer)"}");
        reply.Should().Contain("Error", "checkpoint 123 does not exist");
        await ExpectDefectAsync(KnownDefects.RestoreKillsService, () =>
        {
            after.Pid.Should().Be(running.Pid, "a failed restore must not touch the running service");
            state.Should().NotBeNull("the service must still answer on its port");
            state!.Counter.Should().Be(2, "the service kept its memory");
        }, ResolverLogTextAsync);
    }

    [GuestFact]
    public async Task Without_CRIU_an_upgrade_falls_back_to_FD_passing_then_restart_and_the_service_keeps_serving()
    {
        var (vm, ctl, http) = await CriuGuestAsync();
        var before = (await ctl.StatusAsync())[Stateful];
        // YakirOS looks for criu at fixed paths only; hiding the binary makes it unavailable (the snapshot restore puts it back).
        await vm.Shell.SucceedAsync(GuestPrograms.HideCommand("criu"));

        var swap = await HotSwap.UpgradeAsync(vm, ctl, Stateful, before);

        var log = await ResolverLogTextAsync();
        var ready = (await vm.Shell.RunAsync($"cat /run/yakiros-tests/{Stateful}/ready")).Stdout;
        var state = await http.StateAsync();
        Output.WriteLine($"{swap.Describe()}\nresolver log:\n{log}\nready file:\n{ready}\nserving: counter {state.Counter}, pid {state.Pid}");
        log.Should().Contain($"upgrade: CRIU not supported, falling back to FD-passing for '{Stateful}'", "with no CRIU the first fallback is FD passing");
        if (ready.Contains("listener=inherited", StringComparison.Ordinal))
            log.Should().Contain($"upgrade: FD-passing hot-swap successful for '{Stateful}'", "the new instance says it inherited the listener");
        else
            log.Should().Contain($"upgrade: restart successful for '{Stateful}'", "without a hand-off the last fallback is a restart ({0})", ready.Trim());
        state.Pid.Should().Be(swap.After.Pid!.Value, "the new instance serves");
    }

    /// <summary>The one check YK-011 decides: `checkpoint` succeeded (the resolver's log carries CRIU's exec failure).</summary>
    private Task ExpectCheckpointAsync(string reply) =>
        ExpectDefectAsync(KnownDefects.CriuExecArgv, () => reply.Should().Contain("Checkpoint created successfully", "`checkpoint` must dump the service with CRIU"),
            ResolverLogTextAsync);

    private async Task<(VirtualMachine Vm, GraphCtl Ctl, StatefulClient Http)> CriuGuestAsync()
    {
        var (vm, ctl) = await GuestAsync();
        var check = await vm.Shell.RunAsync("criu check 2>&1", TimeSpan.FromSeconds(60));
        var why = string.Join(" ", check.Stdout.Split('\n').Where(l => l.Contains("Error", StringComparison.Ordinal) || l.Contains("Warn", StringComparison.Ordinal)).Take(5));
        if (check.ExitCode != 0)
            throw new VmException($"`criu check` fails in the guest (exit {check.ExitCode}): {why}. The guest image installs criu and its kernel supports it, " +
                                  "so this is a harness failure: see the console and dmesg in the failure artifacts.");
        await ctl.WaitForStatusAsync(s => s.Find(Stateful)?.State == "ACTIVE", TimeSpan.FromSeconds(20), $"{Stateful} ACTIVE");
        _http = new StatefulClient(vm, YakirosVmFixture.StatefulPort);
        return (vm, ctl, _http);
    }

    public void Dispose() => _http?.Dispose();

    private static async Task<string> LatestCheckpointAsync(VirtualMachine vm) =>
        (await vm.Shell.SucceedAsync($"ls -1d {Store}/*/ | sort | tail -n 1")).Stdout.Trim().TrimEnd('/');

    private static async Task<StatefulState?> TryStateAsync(StatefulClient http)
    {
        try
        {
            return await http.StateAsync();
        }
        catch (VmException)
        {
            return null;
        }
    }
}
