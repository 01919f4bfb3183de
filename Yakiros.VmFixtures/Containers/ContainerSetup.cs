namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// How a harness container is set up: host folders bind-mounted at the same path inside (so every path the harness
/// computes means the same file on both sides), the capabilities a build needs, /dev/kvm, and CPU shares.
/// </summary>
public sealed record ContainerSetup(IReadOnlyList<string> ReadWrite, IReadOnlyList<string> ReadOnly)
{
    /// <summary>Capabilities added to Docker's default set (not --privileged, which a sandboxed engine may refuse).</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    public bool Kvm { get; init; }

    /// <summary>
    /// The container's CPU weight (Docker's CPU shares, 1024 = one task). Under contention a container's cgroup competes
    /// as one task, where QEMU on the host competes with each of its threads: a VM container asks for one task's
    /// weight per vCPU thread and one for QEMU's I/O thread, so it is treated as the host's QEMU is. Null: Docker's default.
    /// </summary>
    public long? CpuShares { get; init; }
}
