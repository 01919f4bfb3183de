namespace Yakiros.VmFixtures;

/// <summary>A guest TCP port reachable on the host at 127.0.0.1:<see cref="HostPort"/>.</summary>
public sealed record PortForward(int GuestPort, int HostPort);
