using System.Diagnostics;
using System.Runtime.InteropServices;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;
using Microsoft.Extensions.Logging.Abstractions;

namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// One container started by Testcontainers from a harness image, on the host's network, running as the test host's
/// user, with the given folders bind-mounted at their own paths. Its first process is <see cref="ContainerReaper.WatcherScript"/>,
/// so it ends by itself when this test host is gone; the work (QEMU, an image build, a make) runs in it by exec.
/// Disposing it removes it.
/// </summary>
public sealed class HarnessContainer : IAsyncDisposable
{
    private readonly IContainer _container;
    private bool _disposed;

    private HarnessContainer(IContainer container, string name, string keepMarker, TimeSpan startTime)
    {
        _container = container;
        Name = name;
        KeepMarker = keepMarker;
        StartTime = startTime;
    }

    public string Name { get; }

    /// <summary>While this file exists the container outlives its test host (KeepVmOnFailure).</summary>
    public string KeepMarker { get; }

    /// <summary>Create and start, until Testcontainers saw it running: the container's own start cost.</summary>
    public TimeSpan StartTime { get; }

    public static async Task<HarnessContainer> StartAsync(ContainerEngine engine, string image, ContainerSetup setup, string runsDir,
        string purpose, CancellationToken cancellationToken)
    {
        engine.ConfigureTestcontainers();
        Directory.CreateDirectory(runsDir);
        var heartbeat = ContainerReaper.StartHeartbeat(runsDir);
        var name = $"yakiros-{purpose}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40].TrimEnd('-');
        var keep = Path.Combine(runsDir, $"{name}.keep");
        var user = $"{GetEuid()}:{GetEgid()}";
        var builder = new ContainerBuilder(image)
            .WithDockerEndpoint(engine.Endpoint.ToString())
            .WithLogger(NullLogger.Instance)
            .WithImagePullPolicy(PullPolicy.Never)
            .WithName(name)
            .WithLabel(ContainerReaper.OwnerLabels())
            .WithAutoRemove(true)
            .WithEntrypoint("/bin/sh", "-c", ContainerReaper.WatcherScript, "yakiros-vmhost-watcher")
            .WithCommand([.. ContainerReaper.WatcherArguments(heartbeat, keep)])
            .WithEnvironment("HOME", "/tmp")
            .WithCreateParameterModifier(p =>
            {
                p.User = user;
                p.HostConfig ??= new Docker.DotNet.Models.HostConfig();
                p.HostConfig.NetworkMode = "host";
                p.HostConfig.PidMode = "host"; // QEMU's pid is a host pid; the watcher sees its owner die
                if (setup.CpuShares is { } shares) p.HostConfig.CPUShares = shares;
                if (setup.Capabilities.Count > 0) p.HostConfig.CapAdd = [.. setup.Capabilities];
                if (setup.Kvm)
                    p.HostConfig.Devices = [new Docker.DotNet.Models.DeviceMapping { PathOnHost = "/dev/kvm", PathInContainer = "/dev/kvm", CgroupPermissions = "rwm" }];
            });
        // The heartbeat lives in the runs folder: the watcher must see it.
        foreach (var dir in setup.ReadWrite.Append(runsDir).Distinct()) builder = builder.WithBindMount(dir, dir, AccessMode.ReadWrite);
        foreach (var dir in setup.ReadOnly) builder = builder.WithBindMount(dir, dir, AccessMode.ReadOnly);
        var container = builder.Build();
        var clock = Stopwatch.StartNew();
        try
        {
            await container.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await container.DisposeAsync();
            throw new VmException($"Docker could not start the container {name} from image {image}: {e.GetBaseException().Message}", e);
        }
        return new HarnessContainer(container, name, keep, clock.Elapsed);
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the container and waits for it. Each line of its output goes to
    /// <paramref name="onLine"/> once it ended; the outcome holds the last lines.
    /// </summary>
    public async Task<ProcessRunner.Outcome> ExecAsync(IReadOnlyList<string> command, CancellationToken cancellationToken,
        Action<string>? onLine = null, int tailLines = 40)
    {
        var clock = Stopwatch.StartNew();
        var result = await _container.ExecAsync(command.ToList(), cancellationToken);
        var lines = (result.Stdout + result.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var line in lines) onLine?.Invoke(line);
        return new ProcessRunner.Outcome((int)(result.ExitCode ?? -1), lines.TakeLast(tailLines).ToList(), clock.Elapsed);
    }

    /// <summary>Leaves the container running after this test host ends (until the keep marker is deleted).</summary>
    public void Keep() => File.WriteAllText(KeepMarker, Name);

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (File.Exists(KeepMarker)) return;
        try
        {
            await _container.DisposeAsync();
        }
        catch (Exception e) when (e is Docker.DotNet.DockerApiException or HttpRequestException or IOException)
        {
            // already removed (auto-remove after its first process ended); nothing left to clean
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    [DllImport("libc", EntryPoint = "getegid")]
    private static extern uint GetEgid();
}
