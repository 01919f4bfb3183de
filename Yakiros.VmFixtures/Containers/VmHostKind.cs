namespace Yakiros.VmFixtures.Containers;

/// <summary>Where QEMU runs: on the host, inside a container, or the host when it can and a container otherwise.</summary>
public enum VmHostKind
{
    Auto,
    Host,
    Container,
}
