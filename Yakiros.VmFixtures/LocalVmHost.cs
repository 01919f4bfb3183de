namespace Yakiros.VmFixtures;

/// <summary>QEMU, qemu-img and the image build run on this host (the host's packages, see `./run.sh setup`).</summary>
public sealed class LocalVmHost : IVmHost
{
    private readonly VmOptions _options;
    private readonly Action<string> _log;
    private readonly string _qemu;
    private readonly string _qemuImg;

    /// <summary>Throws <see cref="PrerequisiteMissingException"/> naming the install command when QEMU is missing.</summary>
    public LocalVmHost(VmOptions options, Action<string> log)
    {
        _options = options;
        _log = log;
        _qemu = HostTools.RequireQemu(options);
        _qemuImg = HostTools.Require(HostTools.QemuImg);
    }

    public string Description => $"host QEMU ({_qemu})";

    public Task<GuestImage> EnsureImageAsync(CancellationToken cancellationToken) => new GuestImageBuilder(_options, _log).EnsureAsync(cancellationToken);

    public Task<AcceleratorChoice> ChooseAcceleratorAsync(GuestImage image, CancellationToken cancellationToken) =>
        AcceleratorProbe.ChooseAsync(_options, _qemu, image, cancellationToken);

    public async Task CreateOverlayAsync(GuestImage image, RunDirectory run, CancellationToken cancellationToken)
    {
        ThrowIfOverlayFailed(await ProcessRunner.RunAsync(_qemuImg, QemuCommandLine.OverlayArgs(image, run), null, cancellationToken), run);
    }

    internal static void ThrowIfOverlayFailed(ProcessRunner.Outcome overlay, RunDirectory run)
    {
        if (overlay.ExitCode != 0)
            throw new VmException($"qemu-img could not create the overlay {run.Overlay}: {overlay.TailText}");
    }

    public async Task<IQemuProcess> StartQemuAsync(IReadOnlyList<string> arguments, RunDirectory run, CancellationToken cancellationToken) =>
        await QemuProcess.StartAsync(_qemu, arguments, run, cancellationToken);

    public string Keep(int? qemuPid) => $"kill {qemuPid}";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
