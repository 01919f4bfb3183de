namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// QEMU, qemu-img and the guest image build run inside a container started by Testcontainers from the harness's
/// image (container/Dockerfile). The container shares the host's network (QEMU's forwards bind 127.0.0.1 as on the
/// host, QMP is a unix socket in the bind-mounted run folder) and sees the image cache, the runs folder and
/// guest-config at their host paths, so every path and port means the same on both sides.
/// </summary>
public sealed class ContainerVmHost : IVmHost
{
    private const string Qemu = "qemu-system-x86_64";
    private readonly VmOptions _options;
    private readonly ContainerEngine _engine;
    private readonly Action<string> _log;
    private readonly string _image;
    private readonly HarnessContainer _container;

    private ContainerVmHost(VmOptions options, ContainerEngine engine, Action<string> log, string image, HarnessContainer container)
    {
        _options = options;
        _engine = engine;
        _log = log;
        _image = image;
        _container = container;
    }

    public string Description => $"container {_container.Name} (image {_image}, {_engine})";

    /// <summary>Create and start of this VM's container: the container host's own cost on top of QEMU's boot.</summary>
    public TimeSpan ContainerStartTime => _container.StartTime;

    public string ContainerName => _container.Name;

    public static async Task<ContainerVmHost> StartAsync(VmOptions options, ContainerEngine engine, Action<string> log, CancellationToken cancellationToken)
    {
        engine.ConfigureTestcontainers();
        await SweepAsync(engine, options, log, cancellationToken);
        var image = await new ContainerImages(engine, options, log).EnsureVmHostAsync(cancellationToken);
        var kvm = options.Accelerator != Accelerator.Tcg && AcceleratorProbe.CanOpenKvm();
        var container = await HarnessContainer.StartAsync(engine, image, Mounts(options) with { Kvm = kvm, CpuShares = 1024L * (options.Cpus + 1) }, options.ResolvedRunsDir, "vm", cancellationToken);
        log($"container {container.Name} started in {container.StartTime.TotalSeconds:F2} s from {image}{(kvm ? ", with /dev/kvm" : "")}");
        return new ContainerVmHost(options, engine, log, image, container);
    }

    /// <summary>Removes the containers of test hosts that are gone, and says so.</summary>
    public static async Task SweepAsync(ContainerEngine engine, VmOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        using var client = engine.CreateClient();
        var swept = await ContainerReaper.SweepAsync(client, options.ResolvedRunsDir, cancellationToken);
        if (swept.Count > 0) log($"removed {swept.Count} container(s) left by test hosts that are gone: {string.Join(", ", swept)}");
    }

    /// <summary>The image cache and runs folder (read-write) and guest-config (read-only), each at its host path.</summary>
    public static ContainerSetup Mounts(VmOptions options)
    {
        Directory.CreateDirectory(options.ResolvedCacheDir);
        Directory.CreateDirectory(options.ResolvedRunsDir);
        return new ContainerSetup([options.ResolvedCacheDir, options.ResolvedRunsDir], [GuestConfigLocator.Find(options)]);
    }

    public Task<GuestImage> EnsureImageAsync(CancellationToken cancellationToken) =>
        new GuestImageBuilder(_options, _log) { StageRunner = RunStageInBuildContainerAsync }.EnsureAsync(cancellationToken);

    /// <summary>
    /// One image build stage in a throwaway container of the same image. As root it may mount (CAP_SYS_ADMIN):
    /// mmdebstrap's root mode mounts /proc and /dev in its chroot. As another user, build-rootfs.sh uses fakechroot,
    /// which needs nothing.
    /// </summary>
    private async Task<ProcessRunner.Outcome> RunStageInBuildContainerAsync(string script, IReadOnlyList<string> arguments, Action<string> onLine,
        CancellationToken cancellationToken)
    {
        var mounts = Mounts(_options) with { Capabilities = Environment.UserName == "root" ? ["SYS_ADMIN"] : [] };
        await using var build = await HarnessContainer.StartAsync(_engine, _image, mounts, _options.ResolvedRunsDir, "build", cancellationToken);
        onLine($"[container] building in {build.Name}");
        return await build.ExecAsync(["/bin/sh", script, .. arguments], cancellationToken, onLine);
    }

    public Task<AcceleratorChoice> ChooseAcceleratorAsync(GuestImage image, CancellationToken cancellationToken) =>
        AcceleratorProbe.ChooseAsync(_options, $"container|{_image}|{image.Kernel}", async token =>
        {
            var probe = await _container.ExecAsync(
                ["timeout", "-s", "KILL", $"{AcceleratorProbe.ProbeTimeout.TotalSeconds:0}", Qemu, .. AcceleratorProbe.KvmProbeArguments(image)], token);
            return probe.Tail.Any(l => l.Contains(AcceleratorProbe.KernelBanner, StringComparison.Ordinal))
                ? null
                : $"in the container, QEMU under KVM printed no kernel line (exit {probe.ExitCode}): {probe.Tail.FirstOrDefault() ?? "no output"}";
        }, cancellationToken);

    public async Task CreateOverlayAsync(GuestImage image, RunDirectory run, CancellationToken cancellationToken) =>
        LocalVmHost.ThrowIfOverlayFailed(await _container.ExecAsync(["qemu-img", .. QemuCommandLine.OverlayArgs(image, run)], cancellationToken), run);

    public async Task<IQemuProcess> StartQemuAsync(IReadOnlyList<string> arguments, RunDirectory run, CancellationToken cancellationToken) =>
        await ContainerQemuProcess.StartAsync(_container, Qemu, arguments, run, cancellationToken);

    public string Keep(int? qemuPid)
    {
        _container.Keep();
        return $"docker rm -f {_container.Name} (and delete {_container.KeepMarker})";
    }

    public ValueTask DisposeAsync() => _container.DisposeAsync();
}
