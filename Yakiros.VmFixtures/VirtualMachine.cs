using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Yakiros.VmFixtures;

/// <summary>
/// One running guest: QEMU with direct kernel boot on a copy-on-write overlay of the cached image, the serial
/// console followed for badness, QMP for snapshots, a persistent SSH channel, and TCP forwards on 127.0.0.1.
/// Start it with <see cref="StartAsync"/>; dispose it to stop QEMU (gracefully, then by force).
/// </summary>
public sealed class VirtualMachine : IAsyncDisposable
{
    public const string SshReadyMarker = "yakiros-harness: ssh ready";
    private const int SshGuestPort = 22;
    private const int PortConflictRetries = 3;

    private readonly VmOptions _options;
    private readonly Action<string> _log;
    private readonly IVmHost _host;
    private readonly IQemuProcess _qemu;
    private readonly GuestConsole _console;
    private readonly GuestLifeline _lifeline;
    private QmpClient? _qmp;
    private string? _failure;
    private bool _disposed;

    private VirtualMachine(VmOptions options, Action<string> log, GuestImage image, AcceleratorChoice accelerator, RunDirectory run,
        IReadOnlyList<PortForward> forwards, IVmHost host, IQemuProcess qemu, GuestConsole console, GuestLifeline lifeline)
    {
        _host = host;
        _options = options;
        _log = log;
        Image = image;
        Accelerator = accelerator;
        Run = run;
        Forwards = forwards;
        _qemu = qemu;
        _console = console;
        _lifeline = lifeline;
        Shell = new GuestShell(SshEndpoint.For(image, HostPortFor(SshGuestPort)), lifeline);
    }

    public GuestImage Image { get; }
    public AcceleratorChoice Accelerator { get; }
    public RunDirectory Run { get; }
    public IReadOnlyList<PortForward> Forwards { get; }
    public GuestShell Shell { get; }
    public GuestConsole Console => _console;
    public int? QemuPid => _qemu.QemuPid;
    public bool HasExited => _qemu.HasExited;

    /// <summary>Where QEMU runs: the host, or a container (see the VmHost option).</summary>
    public IVmHost Host => _host;

    /// <summary>True once this VM owns its host (after boot): disposing the VM then disposes the host (its container).</summary>
    private bool _ownsHost;

    /// <summary>Why the guest is gone (QEMU exited, kernel panic), or null while it lives.</summary>
    public string? DeathReason => _lifeline.Reason;

    /// <summary>QEMU start until the SSH channel was open.</summary>
    public TimeSpan BootTime { get; private set; }

    /// <summary>QEMU start until the guest printed that sshd listens (the raw readiness the harness builds on).</summary>
    public TimeSpan ConsoleReadyTime { get; private set; }

    /// <summary>The last <see cref="RestoreAsync"/>: monitor loadvm until the SSH channel was open again.</summary>
    public TimeSpan LastRestoreTime { get; private set; }

    /// <summary>The ssh command that gets a human into this guest.</summary>
    public string SshCommand => Shell.Endpoint.HumanCommand(Path.Combine(Run.Path, "known_hosts"));

    public int HostPortFor(int guestPort) =>
        Forwards.FirstOrDefault(f => f.GuestPort == guestPort)?.HostPort
        ?? throw new ArgumentException($"Guest port {guestPort} is not forwarded; ask for it in VmStartRequest.GuestPorts.", nameof(guestPort));

    /// <summary>Builds the image if needed, boots it and returns once SSH works (or throws saying why not).</summary>
    public static async Task<VirtualMachine> StartAsync(VmOptions options, VmStartRequest? request = null, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        request ??= new VmStartRequest();
        log ??= _ => { };
        var host = await VmHosts.CreateAsync(options, log, cancellationToken);
        try
        {
            return await StartOnAsync(host, options, request, log, cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static async Task<VirtualMachine> StartOnAsync(IVmHost host, VmOptions options, VmStartRequest request, Action<string> log,
        CancellationToken cancellationToken)
    {
        var image = await host.EnsureImageAsync(cancellationToken);
        var accelerator = await host.ChooseAcceleratorAsync(image, cancellationToken);
        log($"accelerator: {accelerator}");
        return await LaunchWithRetriesAsync(host, options, image, accelerator, request, log, template: null, cancellationToken);
    }

    /// <summary>
    /// Starts a guest from <paramref name="template"/> (QEMU <c>-loadvm</c> on a copy of its overlay, with fresh ports)
    /// and returns once SSH works: the template's clean guest, without a boot. Throws like <see cref="StartAsync"/>.
    /// </summary>
    public static async Task<VirtualMachine> StartFromTemplateAsync(GuestTemplate template, VmOptions options, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        if (!template.IsComplete) throw new VmException($"The guest template {template.Folder.Path} is gone.");
        log ??= _ => { };
        var host = await VmHosts.CreateAsync(options, log, cancellationToken);
        try
        {
            return await LaunchWithRetriesAsync(host, options, template.Image, template.Accelerator, template.Request, log, template, cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static async Task<VirtualMachine> LaunchWithRetriesAsync(IVmHost host, VmOptions options, GuestImage image, AcceleratorChoice accelerator,
        VmStartRequest request, Action<string> log, GuestTemplate? template, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var run = RunDirectory.Create(options.ResolvedRunsDir);
            string? initramfs;
            if (template is null)
            {
                await host.CreateOverlayAsync(image, run, cancellationToken);
                initramfs = WritePayload(image, run, request.Payload);
            }
            else
            {
                File.Copy(template.Folder.Overlay, run.Overlay);
                initramfs = template.Initramfs;
            }
            var forwards = HostPorts.Allocate([SshGuestPort, .. request.GuestPorts]);
            var arguments = QemuCommandLine.Build(options, accelerator.Accelerator, image, run, forwards, request.Init, request.KernelArguments, initramfs);
            if (template is not null) arguments = [.. arguments, "-loadvm", template.Snapshot];
            var vm = await LaunchAsync(options, log, image, accelerator, run, forwards, host, arguments, cancellationToken);
            try
            {
                if (template is null) await vm.WaitForBootAsync(cancellationToken);
                else await vm.WaitForResumeAsync(template, cancellationToken);
                vm._ownsHost = true;
                return vm;
            }
            catch (GuestDiedException) when (attempt < PortConflictRetries && vm._qemu.Log.Contains("Could not set up host forwarding rule", StringComparison.Ordinal))
            {
                log($"a forwarded port was taken by another program; retrying with new ports (attempt {attempt + 1})");
                await vm.DisposeAsync();
            }
            catch
            {
                vm.MarkFailed(template is null ? "boot failed" : "start from the template failed");
                await vm.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>The image's initramfs with the payload cpio appended (the kernel unpacks both), or null without a payload.</summary>
    private static string? WritePayload(GuestImage image, RunDirectory run, IReadOnlyList<PayloadFile> payload)
    {
        if (payload.Count == 0) return null;
        using var output = File.Create(run.Initramfs);
        using (var input = File.OpenRead(image.Initramfs)) input.CopyTo(output);
        CpioArchive.Write(output, payload);
        return run.Initramfs;
    }

    private static async Task<VirtualMachine> LaunchAsync(VmOptions options, Action<string> log, GuestImage image, AcceleratorChoice accelerator,
        RunDirectory run, IReadOnlyList<PortForward> forwards, IVmHost host, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        GuestConsole? console = null;
        var lifeline = new GuestLifeline(() => console?.Tail() ?? "");
        console = new GuestConsole(run.ConsoleLog, finding => lifeline.Kill($"{finding.Kind} on the console: {finding.Line}"));
        var qemu = await host.StartQemuAsync(arguments, run, cancellationToken);
        var vm = new VirtualMachine(options, log, image, accelerator, run, forwards, host, qemu, console, lifeline);
        File.WriteAllText(Path.Combine(run.Path, "known_hosts"), vm.Shell.Endpoint.KnownHostsLine + "\n");
        _ = qemu.Exited.ContinueWith(async exited =>
        {
            await console.CatchUpAsync(TimeSpan.FromSeconds(1)); // a panic on the console is the better reason
            lifeline.Kill($"QEMU exited with code {exited.Result}. QEMU said:\n{GuestConsole.LastLines(qemu.Log, 15)}");
        }, TaskScheduler.Default);
        log($"QEMU pid {qemu.QemuPid}, run folder {run.Path}, forwards {string.Join(", ", forwards.Select(f => $"guest:{f.GuestPort}->127.0.0.1:{f.HostPort}"))}");
        return vm;
    }

    private async Task WaitForBootAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await _lifeline.RunAsync("boot (waiting for the guest's sshd)", _options.BootTimeout, cancellationToken,
            token => _console.WaitForAsync(SshReadyMarker, 0, token), () => $"no '{SshReadyMarker}' line on the console after {clock.Elapsed.TotalSeconds:F1} s");
        ConsoleReadyTime = clock.Elapsed;
        var remaining = _options.BootTimeout - clock.Elapsed;
        await Shell.ConnectAsync(remaining > TimeSpan.FromSeconds(10) ? remaining : TimeSpan.FromSeconds(10), cancellationToken);
        BootTime = clock.Elapsed;
        _qmp = await _lifeline.RunAsync("QMP connection", TimeSpan.FromSeconds(10), cancellationToken, token => QmpClient.ConnectAsync(Run.QmpSocket, token));
        _log($"guest ready: sshd listening after {ConsoleReadyTime.TotalSeconds:F2} s, SSH channel open after {BootTime.TotalSeconds:F2} s ({Accelerator.Accelerator})");
    }

    /// <summary>A guest started from a template: no console line comes (the guest booted before its snapshot), so SSH is the sign of life.</summary>
    private async Task WaitForResumeAsync(GuestTemplate template, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        // QEMU answers QMP once it has loaded the snapshot: connecting SSH before that would reach a guest that is not running yet.
        _qmp = await _lifeline.RunAsync("QMP connection", _options.BootTimeout, cancellationToken, token => QmpClient.ConnectAsync(Run.QmpSocket, token));
        var loaded = clock.Elapsed;
        await Shell.ConnectAsync(_options.BootTimeout, cancellationToken);
        BootTime = clock.Elapsed;
        _log($"guest ready from the template's snapshot '{template.Snapshot}': snapshot loaded after {loaded.TotalSeconds:F2} s, SSH channel open after {BootTime.TotalSeconds:F2} s ({Accelerator.Accelerator})");
    }

    /// <summary>
    /// Saves this guest as a template that more guests start from (<see cref="StartFromTemplateAsync"/>): a copy of its
    /// overlay, which holds snapshot <paramref name="snapshot"/> (take it first), made while QEMU is paused so that the
    /// copy is consistent. The guest runs on unchanged. The template's folder is removed with <see cref="GuestTemplate.Delete"/>,
    /// or by the next run once this process is gone.
    /// </summary>
    public async Task<GuestTemplate> SaveTemplateAsync(string snapshot, VmStartRequest request, object? facts, CancellationToken cancellationToken = default)
    {
        var folder = RunDirectory.Create(_options.ResolvedRunsDir);
        try
        {
            await Qmp("stop", cancellationToken); // QEMU drains and flushes the disk when it stops the guest
            try
            {
                File.Copy(Run.Overlay, folder.Overlay);
                if (File.Exists(Run.Initramfs)) File.Copy(Run.Initramfs, folder.Initramfs);
            }
            finally
            {
                await Qmp("cont", cancellationToken);
            }
            return new GuestTemplate(folder, snapshot, Image, Accelerator, request, facts);
        }
        catch
        {
            folder.Delete();
            throw;
        }
    }

    private Task<JsonNode?> Qmp(string command, CancellationToken cancellationToken, JsonObject? arguments = null, string? what = null) =>
        _lifeline.RunAsync(what ?? $"QMP {command}", TimeSpan.FromSeconds(30), cancellationToken,
            token => (_qmp ?? throw new VmException("QMP is not connected.")).ExecuteAsync(command, arguments, token));

    /// <summary>Saves the running guest (RAM and disk) inside the overlay under <paramref name="name"/>.</summary>
    public async Task SnapshotAsync(string name = "clean", CancellationToken cancellationToken = default)
    {
        // No SSH session may live in the snapshot: the client's side of it would be gone after a restore.
        Shell.Disconnect();
        await Monitor($"savevm {name}", cancellationToken);
        await Shell.ConnectAsync(TimeSpan.FromSeconds(30), cancellationToken);
    }

    /// <summary>Rewinds the guest to snapshot <paramref name="name"/>: every change since is gone. Reconnects SSH.</summary>
    public async Task RestoreAsync(string name = "clean", CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        Shell.Disconnect();
        await Monitor($"loadvm {name}", cancellationToken);
        await Shell.ConnectAsync(TimeSpan.FromSeconds(30), cancellationToken);
        LastRestoreTime = clock.Elapsed;
        HarnessTimes.Add(HarnessTimes.Restore, LastRestoreTime);
        // The guest clock returns to the snapshot with everything else and runs on from there. It is not set to the
        // host's time: a forward jump would make every health check of the init under test due at once (YakirOS
        // schedules them on time(NULL)), so each test would begin with PID 1 busy running them.
    }

    /// <summary>Takes the guest's network link down or up (QMP set_link on its only NIC), as a cable pull would.</summary>
    public Task SetLinkAsync(bool up, CancellationToken cancellationToken = default) =>
        Qmp("set_link", cancellationToken, new JsonObject { ["name"] = "n0", ["up"] = up }, $"QMP set_link {(up ? "up" : "down")}");

    private Task<string> Monitor(string command, CancellationToken cancellationToken) =>
        _lifeline.RunAsync($"QEMU monitor `{command}`", TimeSpan.FromSeconds(60), cancellationToken,
            token => (_qmp ?? throw new VmException("QMP is not connected.")).HumanAsync(command, token));

    /// <summary>A TCP connection from the host to <paramref name="guestPort"/> through its forward.</summary>
    public Task<TcpClient> ConnectTcpAsync(int guestPort, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var hostPort = HostPortFor(guestPort);
        return _lifeline.RunAsync($"TCP connection to guest port {guestPort} (127.0.0.1:{hostPort})", timeout ?? TimeSpan.FromSeconds(10), cancellationToken,
            async token =>
            {
                var client = new TcpClient { NoDelay = true };
                try
                {
                    await client.ConnectAsync("127.0.0.1", hostPort, token);
                    return client;
                }
                catch
                {
                    client.Dispose();
                    throw;
                }
            });
    }

    /// <summary>Marks the VM as failed: with KeepVmOnFailure it is then left running at dispose.</summary>
    public void MarkFailed(string why) => _failure ??= why;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        var failure = _failure ?? _lifeline.Reason;
        var keep = failure is not null && _options.KeepVmOnFailure && !_qemu.HasExited;
        await Shell.DisposeAsync();
        if (keep)
        {
            File.WriteAllText(Run.KeepMarker, failure);
            _log($"VM kept running after failure ({failure}). Get in with: {SshCommand}\n" +
                 $"Console log: {Run.ConsoleLog}. Stop it with: {_host.Keep(QemuPid)}");
        }
        else
        {
            await _qemu.StopAsync(Quit, TimeSpan.FromSeconds(3));
        }
        if (_qmp is not null) await _qmp.DisposeAsync();
        await _qemu.DisposeAsync();
        await _console.DisposeAsync();
        _lifeline.Dispose();
        if (_ownsHost || keep) await _host.DisposeAsync();
        if (!keep && failure is null) Run.Delete();
    }

    private async Task Quit(CancellationToken token)
    {
        if (_qmp is not null) await _qmp.ExecuteAsync("quit", null, token);
        else throw new VmException("no QMP");
    }
}
