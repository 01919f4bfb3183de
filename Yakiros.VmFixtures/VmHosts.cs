using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmFixtures;

/// <summary>Chooses where QEMU runs from the VmHost option (YAKIROS_VMHOST): host, container, or auto.</summary>
public static class VmHosts
{
    private static readonly TimeSpan EngineProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// host: the host's QEMU. container: a container (a <see cref="PrerequisiteMissingException"/> when no engine answers).
    /// auto: the host's QEMU when its prerequisites are present, else a container when an engine answers, else a
    /// <see cref="PrerequisiteMissingException"/> that names both fixes.
    /// </summary>
    public static async Task<IVmHost> CreateAsync(VmOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        if (options.VmHost == VmHostKind.Host) return new LocalVmHost(options, log);
        string? hostProblem = null;
        if (options.VmHost == VmHostKind.Auto)
        {
            hostProblem = HostProblem(options);
            if (hostProblem is null) return new LocalVmHost(options, log);
        }
        var (engine, engineProblem) = await ContainerEngine.ProbeAsync(EngineProbeTimeout, cancellationToken);
        if (engine is null)
            throw new PrerequisiteMissingException(hostProblem is null
                ? $"YAKIROS_VMHOST=container, but {engineProblem}. {ContainerEngine.HowToProvide}"
                : NoHostMessage(hostProblem, engineProblem!));
        if (hostProblem is not null) log($"host QEMU cannot run the guest ({hostProblem}); running it in a container instead");
        log($"VM host: container, {engine}");
        return await ContainerVmHost.StartAsync(options, engine, log, cancellationToken);
    }

    /// <summary>Why the host's own QEMU cannot run the guest, or null when it can.</summary>
    public static string? HostProblem(VmOptions options)
    {
        var missing = new List<HostTools.Tool>();
        if (HostTools.Find(options.QemuBinary) is null) missing.Add(HostTools.Qemu with { Command = options.QemuBinary });
        if (!new GuestImageBuilder(options).CachedImage.IsComplete) missing.AddRange(HostTools.ImageBuild);
        else missing.Add(HostTools.QemuImg);
        return HostTools.DescribeMissing(missing);
    }

    /// <summary>The skip when neither host can run the guest: both fixes, either of which is enough.</summary>
    public static string NoHostMessage(string hostProblem, string engineProblem) =>
        $"No way to run the test VM on this host. Host QEMU: {hostProblem} (or run ./run.sh setup). " +
        $"Container: {engineProblem}; {ContainerEngine.HowToProvide} Either fix is enough (YAKIROS_VMHOST=host|container picks one).";
}
