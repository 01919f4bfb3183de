namespace Yakiros.VmFixtures;

/// <summary>
/// Where a guest's QEMU runs and how its tools are reached: on this host (<see cref="LocalVmHost"/>) or inside a
/// container (<see cref="Containers.ContainerVmHost"/>). <see cref="VirtualMachine"/> is the same for both.
/// </summary>
public interface IVmHost : IAsyncDisposable
{
    /// <summary>What this host is, for the log: "host QEMU" or the container and its image.</summary>
    string Description { get; }

    /// <summary>Builds the cached guest image if needed (where the tools are), and returns it.</summary>
    Task<GuestImage> EnsureImageAsync(CancellationToken cancellationToken);

    /// <summary>KVM when it really works where QEMU runs, else TCG, with the reason.</summary>
    Task<AcceleratorChoice> ChooseAcceleratorAsync(GuestImage image, CancellationToken cancellationToken);

    /// <summary>The run's copy-on-write overlay over the image's root disk.</summary>
    Task CreateOverlayAsync(GuestImage image, RunDirectory run, CancellationToken cancellationToken);

    /// <summary>Starts QEMU with <paramref name="arguments"/>; its pid file, log, console and QMP socket are in <paramref name="run"/>.</summary>
    Task<IQemuProcess> StartQemuAsync(IReadOnlyList<string> arguments, RunDirectory run, CancellationToken cancellationToken);

    /// <summary>Leaves what runs the guest in place after the test host ends (KeepVmOnFailure); returns how to stop it.</summary>
    string Keep(int? qemuPid);
}
