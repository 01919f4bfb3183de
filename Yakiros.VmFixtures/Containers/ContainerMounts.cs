namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// How a harness container is set up: host folders bind-mounted at the same path inside (so every path the harness
/// computes means the same file on both sides), root privileges for a build that needs them, and /dev/kvm.
/// </summary>
public sealed record ContainerMounts(IReadOnlyList<string> ReadWrite, IReadOnlyList<string> ReadOnly)
{
    public bool Privileged { get; init; }
    public bool Kvm { get; init; }
}
