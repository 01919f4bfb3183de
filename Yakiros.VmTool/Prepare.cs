using Yakiros.VmFixtures;

namespace Yakiros.VmTool;

/// <summary>Builds (or finds) the cached guest image and says where it is.</summary>
internal static class Prepare
{
    public static async Task<int> RunAsync(VmOptions options, CancellationToken cancellationToken)
    {
        var builder = new GuestImageBuilder(options, line => Console.WriteLine($"  {line}"));
        Console.WriteLine($"guest image: recipe {builder.GuestConfigDir}, cache {builder.CacheDir}");
        var image = await builder.EnsureAsync(cancellationToken);
        Console.WriteLine($"guest image ready: {image.Directory} (kernel {image.KernelRelease})");
        return 0;
    }
}
