using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// Base of a category class: each test starts with <see cref="GuestAsync"/>, which gives it the category's clean guest.
/// A class names its guest with [Collection]: <see cref="YakirosCollection"/>, <see cref="YakirosTimersCollection"/> or
/// <see cref="YakirosServicesCollection"/>.
/// </summary>
public abstract class CategoryTests(YakirosVmFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private double _logCursor;
    private VirtualMachine? _vm;

    protected YakirosVmFixture Fixture { get; } = fixture;
    protected ITestOutputHelper Output { get; } = output;

    /// <summary>A clean guest (the snapshot restored), and a mark in the resolver's log where this test begins.</summary>
    protected async Task<(VirtualMachine Vm, GraphCtl Ctl)> GuestAsync()
    {
        _vm = await Fixture.EnterCategoryAsync(GetType().Name);
        _logCursor = await new ResolverLog(_vm.Shell).CursorAsync();
        if (Fixture.Boot.WorkaroundApplied is { } workaround)
            Output.WriteLine($"harness workaround in effect for this guest (a green result here needed it): {workaround}");
        return (_vm, GraphCtl.For(_vm));
    }

    /// <summary>The resolver's log lines since this test's <see cref="GuestAsync"/>.</summary>
    protected Task<IReadOnlyList<ResolverLogLine>> ResolverLogAsync() => Log.SinceAsync(_logCursor);

    /// <summary>The same as text (one line each), the form evidence takes.</summary>
    protected Task<string> ResolverLogTextAsync() => Log.TextSinceAsync(_logCursor);

    /// <summary>The resolver's whole log since boot (boot-time evidence: mounts, cgroup set-up).</summary>
    protected Task<string> ResolverBootLogTextAsync() => Log.TextSinceAsync(0);

    /// <summary>The guest's clock now, on the scale of the log lines' times (seconds since boot).</summary>
    protected Task<double> GuestClockAsync() => Log.NowAsync();

    /// <summary>Waits until the resolver's log since this test began satisfies <paramref name="done"/>.</summary>
    protected Task<IReadOnlyList<ResolverLogLine>> WaitForLogAsync(Func<IReadOnlyList<ResolverLogLine>, bool> done, TimeSpan timeout, string what) =>
        Log.WaitForAsync(_logCursor, done, Scaled(timeout), what);

    /// <summary>A guest deadline, stretched by the timing scale under software emulation (as the Step-11 targets are).</summary>
    protected TimeSpan Scaled(TimeSpan timeout) => timeout * Math.Max(1, Fixture.TimingScale / 5);

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// The badness scan (as kola's): a crash that no assertion looked at still fails the test it happened in. Kernel
    /// lines logged since the test began that show an oops, a BUG, a general protection fault, a hung task or a
    /// user-space segfault fail the test, naming them. OOM kills are left to the tests that provoke them.
    /// </summary>
    public async Task DisposeAsync()
    {
        if (_vm is null || _vm.DeathReason is not null) return;
        string kernel;
        try
        {
            kernel = await Log.KernelLinesSinceAsync(_logCursor);
        }
        catch (VmException)
        {
            return; // the guest is gone: the test's own failure says why
        }
        var findings = ConsoleBadness.Scan(kernel).Where(f => f.Kind != "out of memory kill").ToList();
        if (findings.Count > 0)
            throw new VmException("The guest's kernel logged a crash during this test that no assertion looked at:\n" +
                                  string.Join('\n', findings.Select(f => $"  {f.Kind}: {f.Line}")));
        if (GuestTestCase.CurrentReadsOnly) await ProveUnchangedAsync(_vm, kernel);
    }

    /// <summary>After a test declared <see cref="GuestFactAttribute.ReadsOnly"/>: when the guest is provably as clean as the snapshot, the next test skips its restore.</summary>
    private async Task ProveUnchangedAsync(VirtualMachine vm, string kernelLines)
    {
        try
        {
            var after = await CleanStateProof.FingerprintAsync(vm, GraphCtl.For(vm));
            if (CleanStateProof.Difference(Fixture.CleanFingerprint, after, kernelLines, Fixture.Components.Select(c => c.Name).ToHashSet()) is { } difference)
                HarnessLog.Write($"{GetType().Name}: a read-only test left the guest changed, so the next test restores ({difference})");
            else
                Fixture.MarkUnchanged();
        }
        catch (VmException e)
        {
            HarnessLog.Write($"{GetType().Name}: no proof that the guest is unchanged ({e.Message.Split('\n')[0]}); the next test restores");
        }
    }

    private ResolverLog Log => new((_vm ?? throw new InvalidOperationException("call GuestAsync first")).Shell);

    /// <summary>
    /// Runs <paramref name="checks"/> under the known-defect marker <paramref name="defect"/>: when they fail, the
    /// defect is recognised only if <paramref name="evidence"/> (what YakirOS produced) carries its signature.
    /// </summary>
    protected Task ExpectDefectAsync(Defect defect, Func<Task> checks, Func<Task<string>> evidence) =>
        KnownDefect.ExpectAsync(defect, Fixture.Options.KnownDefectMarkers, checks, evidence);

    /// <summary>The same, for checks on values the test already has.</summary>
    protected Task ExpectDefectAsync(Defect defect, Action checks, Func<Task<string>> evidence) =>
        ExpectDefectAsync(defect, () =>
        {
            checks();
            return Task.CompletedTask;
        }, evidence);

    /// <summary>The same, when the evidence is text the test already has (a reply, an observation).</summary>
    protected Task ExpectDefectAsync(Defect defect, Action checks, string evidence) =>
        ExpectDefectAsync(defect, checks, () => Task.FromResult(evidence));
}
