using System.Diagnostics;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Xunit;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// One guest for the whole collection with the user's YakirOS as PID 1: boots it, waits for the graph to settle
/// (recording what it saw), snapshots the clean state, and gives each category class a clean guest: a restore, or a
/// fresh boot when a previous test killed the guest.
/// </summary>
public sealed class YakirosVmFixture : VmFixture, IFailureArtifactSource
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _category;
    private YakirosBuild? _build;
    private bool _buildNamed;

    /// <summary>
    /// The guests start one after the other: two boots side by side on 2 cores under TCG each took about 30 s to a
    /// settled graph, against 8 s alone. The first boots; the others then start from its template (below).
    /// </summary>
    private static readonly SemaphoreSlim OneBootAtATime = new(1, 1);

    protected override SemaphoreSlim BootGate => OneBootAtATime;

    /// <summary>
    /// Only the first guest boots: the second guest, and any guest that replaces one that died, starts from its clean
    /// snapshot (about 2 s, where a boot took 14-18 s to a settled graph). Both collections run the same build and request.
    /// </summary>
    private static readonly GuestTemplateStore CleanGuests = new();

    protected override GuestTemplateStore Templates => CleanGuests;

    /// <summary>What the boot that saved the template learnt, for the guests started from it.</summary>
    private sealed record CleanGuestFacts(BootReport Boot, string Fingerprint);

    /// <summary>A build the user named must be tested: a missing host prerequisite then fails the tests instead of skipping them.</summary>
    protected override bool MustRun => _buildNamed;

    /// <summary>The boot components as the host parsed them from guest-config/components.</summary>
    public IReadOnlyList<ComponentDefinition> Components { get; private set; } = [];

    /// <summary>The runtime-only components (the cycle pair), parsed on the host.</summary>
    public IReadOnlyList<ComponentDefinition> RuntimeComponents { get; private set; } = [];

    public BootReport Boot { get; private set; } = new(TimeSpan.Zero, null, null, null, "");

    public YakirosBuild Build => _build ?? throw new InvalidOperationException("no build");

    protected override VmStartRequest Request => new()
    {
        Init = YakirosBuild.ResolverGuestPath,
        Payload = Build.Payload(),
        KernelArguments = ["yakiros.leave-mounts=run,devpts"],
        GuestPorts = [EchoPort, StatefulPort, ControlRelay.GuestPort],
    };

    /// <summary>The echo server (hot-swap) and the stateful service (CRIU), reachable from the host through forwards.</summary>
    public const int EchoPort = 8080, StatefulPort = 8081;

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        var guestConfig = GuestConfigLocator.Find(Options);
        var (build, missing, named) = YakirosBuild.Locate(Options, Path.GetDirectoryName(guestConfig)!);
        _buildNamed = named;
        if (build is null) throw named ? new VmConfigurationException(missing!) : new PrerequisiteMissingException(missing!);
        build = await SourceBuild.EnsureAsync(build, Options, HarnessLog.Write, cancellationToken); // an unbuilt source checkout
        var problems = build.Problems();
        if (problems.Count > 0) throw new VmConfigurationException($"The YakirOS build in {build.Directory} cannot run in the guest: {string.Join(" ", problems)}");
        _build = build;
        Components = ComponentDefinition.LoadAll(Path.Combine(guestConfig, "components"));
        RuntimeComponents = ComponentDefinition.LoadAll(Path.Combine(guestConfig, "runtime-components"));
        HarnessLog.Write($"YakirOS build {build.Directory}; {Components.Count} boot components, {RuntimeComponents.Count} runtime components checked");
    }

    protected override async Task OnStartedAsync(VirtualMachine vm, CancellationToken cancellationToken)
    {
        // The resolver runs (it is PID 1, or the boot would have panicked); graphctl must at least execute here.
        var graphctl = await vm.Shell.RunAsync($"{YakirosBuild.GraphctlGuestPath} >/dev/null 2>&1; echo $?", cancellationToken: cancellationToken);
        if (graphctl.Stdout.Trim() is "126" or "127")
            throw new VmConfigurationException($"{Build.Graphctl} does not execute in the guest (exit {graphctl.Stdout.Trim()}): " +
                                               "build YakirOS statically (`make static`) so that it needs nothing from the guest's libraries.");
        await ControlRelay.StartAsync(vm, cancellationToken); // the harness's cheap path for status polls (in the snapshot with the rest)
        var ctl = GraphCtl.For(vm);
        var clock = Stopwatch.StartNew();
        TimeSpan? settled = null;
        string? unresponsive = null, workaround = null, first = "";
        string? childExit = null;
        try
        {
            first = (await WaitSettledAsync(ctl, cancellationToken)).Raw;
            settled = vm.BootTime + clock.Elapsed;
            childExit = await RunSigchldProbeAsync(vm, ctl, cancellationToken);
        }
        catch (Pid1UnresponsiveException e)
        {
            unresponsive = e.Message;
            if (Options.Workarounds)
            {
                workaround = $"{KnownDefects.SigchldFreeze.Id}: {await SigchldFreezeWorkaround.ApplyAsync(vm.Shell, cancellationToken)}";
                HarnessLog.Write($"workaround applied for {workaround}");
                try
                {
                    first = (await WaitSettledAsync(ctl, cancellationToken)).Raw;
                    settled = vm.BootTime + clock.Elapsed;
                }
                catch (GraphCtlException again) { first = again.Message; }
                catch (GuestTimeoutException again) { first = again.Message; }
            }
        }
        catch (GuestTimeoutException e)
        {
            first = e.Message;
        }
        // The mounts the init made (or not), recorded before the workaround below can add one.
        var mounts = (await vm.Shell.SucceedAsync(MountsCommand, cancellationToken: cancellationToken)).Stdout;
        if (Options.Workarounds && !mounts.Split('\n').Contains("/dev/pts devpts"))
        {
            // Without devpts there is no /dev/ptmx, and `criu check` fails: mount it so CRIU can be tested (YK-003 asserts on the record).
            await vm.Shell.SucceedAsync("mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts", cancellationToken: cancellationToken);
            var devpts = $"{KnownDefects.EarlyMounts.Id}: devpts mounted on /dev/pts by the harness";
            HarnessLog.Write($"workaround applied for {devpts}");
            workaround = workaround is null ? devpts : $"{workaround}; {devpts}";
        }
        Boot = new BootReport(vm.BootTime, settled, unresponsive, workaround, first, childExit, mounts);
        HarnessLog.Write($"YakirOS boot: {Boot.Describe()}");
        await WriteRunInfoAsync(vm, cancellationToken);
        await CleanStateProof.StampAsync(vm, cancellationToken);
        await vm.SnapshotAsync("clean", cancellationToken);
        CleanFingerprint = await CleanStateProof.FingerprintAsync(vm, ctl, cancellationToken);
        _next = NextStart.Fresh;
        CleanGuests.Publish(await vm.SaveTemplateAsync("clean", Request, new CleanGuestFacts(Boot, CleanFingerprint), cancellationToken));
    }

    protected override Task OnStartedFromTemplateAsync(VirtualMachine vm, GuestTemplate template, CancellationToken cancellationToken)
    {
        var facts = (CleanGuestFacts)template.Facts!;
        (Boot, CleanFingerprint, _next) = (facts.Boot, facts.Fingerprint, NextStart.Fresh);
        HarnessLog.Write($"YakirOS guest started from the clean snapshot of the first boot ({Boot.Describe()})");
        return Task.CompletedTask;
    }

    /// <summary>The clean guest's fingerprint (<see cref="CleanStateProof"/>), taken right after the snapshot.</summary>
    public string CleanFingerprint { get; private set; } = "";

    /// <summary>How the next test gets a clean guest.</summary>
    private enum NextStart
    {
        /// <summary>Restore the clean snapshot.</summary>
        Restore,
        /// <summary>The guest has just been started (booted and snapshotted, or from the template) and no test has had it yet.</summary>
        Fresh,
        /// <summary>The test that just ended proved that it left the guest as the snapshot has it (a counted skip).</summary>
        ProvenUnchanged,
    }

    private NextStart _next;

    /// <summary>The test that just ended left the guest as the snapshot has it (proved): the next test may start without a restore.</summary>
    public void MarkUnchanged() => _next = NextStart.ProvenUnchanged;

    private const string ProbeFile = "/etc/graph.d/zz-sigchld-probe.toml";

    /// <summary>"&lt;mount point&gt; &lt;fs type&gt;" per line of PID 1's mountinfo (the type follows the " - " separator).</summary>
    internal const string MountsCommand = "while read -r _ _ _ _ mp rest; do fs=${rest#* - }; echo \"$mp ${fs%% *}\"; done < /proc/1/mountinfo";

    /// <summary>
    /// A deterministic child exit under PID 1: a oneshot that runs /bin/true. PID 1 must still answer afterwards.
    /// It is installed by a rename alone, which also tells whether the resolver notices renames
    /// (<see cref="GeneratedComponents.RenamesNoticed"/>). The probe is removed again so that the clean snapshot holds
    /// only the boot components.
    /// </summary>
    private static async Task<string> RunSigchldProbeAsync(VirtualMachine vm, GraphCtl ctl, CancellationToken cancellationToken)
    {
        await GeneratedComponents.InstallAsync(vm, [("sigchld-probe", "[component]\nname = \"sigchld-probe\"\nbinary = \"/bin/true\"\ntype = \"oneshot\"\n")], cancellationToken,
            stamp: false);
        try
        {
            await ctl.WaitForStatusAsync(s => s.Find("sigchld-probe") is not null, TimeSpan.FromSeconds(5), "the resolver loading a renamed-in file", cancellationToken);
            GeneratedComponents.RenamesNoticed = true;
        }
        catch (GuestTimeoutException)
        {
            GeneratedComponents.RenamesNoticed = false;
            await GeneratedComponents.StampAsync(vm, cancellationToken);
        }
        HarnessLog.Write($"the resolver {(GeneratedComponents.RenamesNoticed ? "notices" : "does not notice")} a file renamed into /etc/graph.d" +
                         (GeneratedComponents.RenamesNoticed ? "" : " (YK-016): every install adds a stamp file"));
        var done = await ctl.WaitForStatusAsync(s => s.Find("sigchld-probe")?.State == "DONE", TimeSpan.FromSeconds(20), "the sigchld-probe oneshot finishing", cancellationToken);
        await vm.Shell.SucceedAsync($"rm -f {ProbeFile}", cancellationToken: cancellationToken);
        await ctl.WaitForStatusAsync(s => s.Find("sigchld-probe") is null, TimeSpan.FromSeconds(20), "the resolver dropping sigchld-probe", cancellationToken);
        return $"oneshot sigchld-probe (/bin/true) exited under PID 1 and PID 1 kept answering: {done["sigchld-probe"]}";
    }

    private Task<GraphStatus> WaitSettledAsync(GraphCtl ctl, CancellationToken cancellationToken) =>
        ctl.WaitForStatusAsync(
            s => Components.All(c => s.Find(c.Name) is { State: not ("STARTING" or "READY_WAIT" or "INACTIVE") }),
            SettleTimeout, "every boot component leaving STARTING, READY_WAIT and INACTIVE", cancellationToken);

    /// <summary>Time and CPU targets are multiplied by this under software emulation (Performance:TcgScale), 1 under KVM.</summary>
    public double TimingScale => Options.Performance.ScaleFor(CurrentVm?.Accelerator.Accelerator ?? Accelerator.Tcg);

    /// <summary>Saves a measured metric to TestResults/&lt;run&gt;/metrics/ for the JSON summary and the dashboard.</summary>
    public void Record(Metric metric) => RunResults.WriteJson(Path.Combine(RunResults.Directory(Options), "metrics", $"{metric.Name}.json"), metric);

    private sealed record VmConfig(int RamMb, int Cpus, string Os, string Kernel, string Accelerator);

    private sealed record RunInfo(string YakirosBuildDir, string YakirosVersion, VmConfig VmConfig, double TimingScale, string Boot);

    private async Task WriteRunInfoAsync(VirtualMachine vm, CancellationToken cancellationToken)
    {
        var facts = (await vm.Shell.RunAsync(". /etc/os-release; echo \"$PRETTY_NAME\"; uname -r", cancellationToken: cancellationToken)).Stdout.Split('\n');
        var config = new VmConfig(Options.MemoryMb, Options.Cpus, $"{facts[0].Trim()} guest", facts.ElementAtOrDefault(1)?.Trim() ?? "?",
            vm.Accelerator.Accelerator.ToString().ToLowerInvariant());
        RunResults.WriteJson(Path.Combine(RunResults.Directory(Options), "run-info.json"),
            new RunInfo(Build.Directory, Build.Identity(), config, Options.Performance.ScaleFor(vm.Accelerator.Accelerator), Boot.Describe()));
    }

    public Task<(string Directory, string Digest)> SaveFailureArtifactsAsync(string testDisplayName, CancellationToken cancellationToken) =>
        FailureArtifacts.SaveAsync(Options, CurrentVm, NoVmReason, testDisplayName, cancellationToken);

    /// <summary>
    /// A clean guest for a test of <paramref name="category"/>: the clean snapshot restored before every test (tests
    /// add components and break services; about 1 s each), no restore when the previous test proved that it changed
    /// nothing (<see cref="CleanStateProof"/>), or a fresh boot whenever the guest died.
    /// </summary>
    public async Task<VirtualMachine> EnterCategoryAsync(string category)
    {
        var vm = Vm; // skips or fails the test when no VM can run
        await _gate.WaitAsync();
        try
        {
            using var budget = new CancellationTokenSource(StartBudget);
            if (vm.DeathReason is { } died)
            {
                HarnessLog.Write($"the guest died ({died.Split('\n')[0]}); booting a fresh one for {category}");
                vm = await RebootAsync(budget.Token);
            }
            else if (_next == NextStart.Fresh)
            {
                // just started from the clean snapshot: a restore would give the same guest
            }
            else if (_next == NextStart.ProvenUnchanged)
            {
                HarnessTimes.Add(HarnessTimes.RestoreSkipped, TimeSpan.Zero); // the previous test proved it changed nothing
            }
            else
            {
                try
                {
                    await vm.RestoreAsync("clean", budget.Token);
                }
                catch (VmException e) when (e is not GuestDiedException)
                {
                    HarnessLog.Write($"restoring the clean snapshot failed ({e.Message.Split('\n')[0]}); booting a fresh guest for {category}");
                    vm = await RebootAsync(budget.Token);
                }
            }
            _next = NextStart.Restore;
            if (_category != category) HarnessLog.Write($"category {category}: clean guest from the snapshot");
            _category = category;
            return vm;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>
/// The YakirOS categories run in three guests, each a collection with its own <see cref="YakirosVmFixture"/>, side by
/// side (xUnit runs collections in parallel). This one holds the categories that measure or drive the guest, and the
/// basic checks of the boot.
/// </summary>
[CollectionDefinition(Name)]
public sealed class YakirosCollection : ICollectionFixture<YakirosVmFixture>
{
    public const string Name = "YakirOS guest";
}

/// <summary>
/// The second guest: the init duties (restarts, back-off, dependency gating, oneshots, reaping) and the health checks,
/// whose tests wait mostly on YakirOS's own timers (restart gaps, back-off, check intervals). The guest idles through
/// those waits, so running them beside the other guests costs those little CPU; the timing checks read the guest's own
/// (kernel) clock, not the host's.
/// `./run.sh -- xUnit.ParallelizeTestCollections=false` runs the collections one after the other instead.
/// </summary>
[CollectionDefinition(Name)]
public sealed class YakirosTimersCollection : ICollectionFixture<YakirosVmFixture>
{
    public const string Name = "YakirOS guest for timers";
}

/// <summary>
/// The third guest: the services the boot starts, swapped and checkpointed (hot-swap, CRIU, the soak smoke), and the
/// stop escalation, whose tests wait out YakirOS's 10-s grace period. The classes are spread over the three guests so
/// that they finish about together on a correct build and on the published one (the classes' test seconds summed per
/// guest, from one run of each: 108 / 117 / 100 on a patched build, 167 / 175 / 174 on the published one).
/// </summary>
[CollectionDefinition(Name)]
public sealed class YakirosServicesCollection : ICollectionFixture<YakirosVmFixture>
{
    public const string Name = "YakirOS guest for services";
}
