using System.Net;
using System.Net.Sockets;

namespace Yakiros.VmFixtures;

/// <summary>Picks free TCP ports on 127.0.0.1 for QEMU's host forwards.</summary>
public static class HostPorts
{
    public static int PickFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static IReadOnlyList<PortForward> Allocate(IEnumerable<int> guestPorts)
    {
        var taken = new HashSet<int>();
        var forwards = new List<PortForward>();
        foreach (var guestPort in guestPorts.Distinct())
        {
            int host;
            do host = PickFree(); while (!taken.Add(host));
            forwards.Add(new PortForward(guestPort, host));
        }
        return forwards;
    }
}
