using Xunit;

namespace Yakiros.VmFixtures.Xunit;

/// <summary>
/// An xUnit fixture that boots one guest for a class or collection. A missing host prerequisite becomes an explicit
/// skip carrying the install command; any other start failure fails every test with the full explanation.
/// </summary>
public class VmFixture : IAsyncLifetime
{
    protected static readonly TimeSpan StartBudget = TimeSpan.FromMinutes(25); // includes a cold image build
    private VirtualMachine? _vm;
    private Exception? _startFailure;

    public VmOptions Options { get; private set; } = new();

    /// <summary>Why the VM cannot run on this host (a skip reason), or null.</summary>
    public string? UnavailableReason { get; private set; }

    /// <summary>The init and ports this fixture's guest runs with.</summary>
    protected virtual VmStartRequest Request => new();

    /// <summary>The options this fixture uses; tests of the fixture itself override it.</summary>
    protected virtual VmOptions LoadOptions() => VmOptionsLoader.Load();

    public virtual async Task InitializeAsync()
    {
        using var budget = new CancellationTokenSource(StartBudget);
        try
        {
            Options = LoadOptions();
            await PrepareAsync(budget.Token);
            _vm = await StartVmAsync(budget.Token);
        }
        catch (PrerequisiteMissingException e) when (!MustRun)
        {
            UnavailableReason = e.Message;
            HarnessLog.Write($"SKIP: {e.Message}");
        }
        catch (Exception e)
        {
            _startFailure = e;
            HarnessLog.Write($"VM fixture failed to start: {e.Message}");
        }
    }

    /// <summary>True when the tests must run (the user asked for them): a missing prerequisite is then a failure, not a skip.</summary>
    protected virtual bool MustRun => false;

    /// <summary>Runs before the first boot; throw <see cref="PrerequisiteMissingException"/> to skip every test with its message.</summary>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once the guest answers over SSH (for example, to take the clean snapshot).</summary>
    protected virtual Task OnStartedAsync(VirtualMachine vm, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>When set, boots of the fixtures sharing it take turns (a boot ends when the guest is ready for tests).</summary>
    protected virtual SemaphoreSlim? BootGate => null;

    /// <summary>
    /// When set, every guest after the first starts from the clean guest saved in this store (see
    /// <see cref="GuestTemplateStore"/>): <see cref="OnStartedAsync"/> saves it after a boot, and a later start runs
    /// <see cref="OnStartedFromTemplateAsync"/> instead. When starting from it fails, the guest boots as usual.
    /// </summary>
    protected virtual GuestTemplateStore? Templates => null;

    /// <summary>Runs instead of <see cref="OnStartedAsync"/> when the guest started from a template (it is already clean and snapshotted).</summary>
    protected virtual Task OnStartedFromTemplateAsync(VirtualMachine vm, GuestTemplate template, CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<VirtualMachine> StartVmAsync(CancellationToken cancellationToken)
    {
        var gate = BootGate;
        if (gate is null) return await BootAsync(cancellationToken);
        // Boots take turns. A start from a template is no boot: once one exists, the gate is passed straight through,
        // so the guests waiting for the first boot then start from its template side by side.
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (Templates?.Current is null) return await BootAsync(cancellationToken);
        }
        finally
        {
            gate.Release();
        }
        return await BootAsync(cancellationToken);
    }

    private async Task<VirtualMachine> BootAsync(CancellationToken cancellationToken)
    {
        if (Templates?.Current is { } template && await StartFromTemplateAsync(template, cancellationToken) is { } started) return started;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var vm = await VirtualMachine.StartAsync(Options, Request, HarnessLog.Write, cancellationToken);
        try
        {
            await OnStartedAsync(vm, cancellationToken);
            HarnessTimes.Add(HarnessTimes.Boot, clock.Elapsed); // QEMU start to a guest ready for tests (settled, snapshot taken)
            return vm;
        }
        catch
        {
            await vm.DisposeAsync();
            throw;
        }
    }

    private async Task<VirtualMachine?> StartFromTemplateAsync(GuestTemplate template, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        VirtualMachine vm;
        try
        {
            vm = await VirtualMachine.StartFromTemplateAsync(template, Options, HarnessLog.Write, cancellationToken);
        }
        catch (VmException e) when (!cancellationToken.IsCancellationRequested)
        {
            HarnessLog.Write($"starting a guest from the clean template failed ({e.Message.Split('\n')[0]}); booting one instead");
            return null;
        }
        try
        {
            await OnStartedFromTemplateAsync(vm, template, cancellationToken);
            HarnessTimes.Add(HarnessTimes.FromTemplate, clock.Elapsed); // QEMU start to a clean guest ready for tests
            return vm;
        }
        catch
        {
            await vm.DisposeAsync();
            throw;
        }
    }

    /// <summary>Replaces a dead or unusable guest with a freshly booted one.</summary>
    protected async Task<VirtualMachine> RebootAsync(CancellationToken cancellationToken)
    {
        if (_vm is not null) await _vm.DisposeAsync();
        _vm = null;
        _vm = await StartVmAsync(cancellationToken);
        return _vm;
    }

    /// <summary>The VM as it is (null when none runs), without skipping or failing: for diagnostics after a failure.</summary>
    public VirtualMachine? CurrentVm => _vm;

    /// <summary>Why no VM runs: the skip reason or the start failure (null when one runs).</summary>
    public string? NoVmReason => UnavailableReason ?? _startFailure?.Message;

    /// <summary>The running VM; skips the calling test when the host cannot run one, fails it when the VM did not start.</summary>
    public VirtualMachine Vm
    {
        get
        {
            Skip.If(UnavailableReason is not null, UnavailableReason);
            if (_startFailure is not null)
                throw new VmException($"The test VM did not start: {_startFailure.Message}", _startFailure);
            return _vm ?? throw new VmException("The test VM is gone (a previous reboot failed); see the earlier failures.");
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (_vm is not null) await _vm.DisposeAsync();
        if (Options.ResultsDir is { Length: > 0 } results)
        {
            try { HarnessTimes.Write(results, GetType().Assembly.GetName().Name ?? "tests"); }
            catch (IOException e) { HarnessLog.Write($"could not write the harness times to {results}: {e.Message}"); }
        }
    }
}
