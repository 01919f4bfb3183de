using Yakiros.VmFixtures;

namespace Yakiros.VmTool;

/// <summary>Builds (or finds) the cached guest image and says where it is.</summary>
internal static class Prepare
{
    public static async Task<int> RunAsync(VmOptions options, bool dryRun, CancellationToken cancellationToken)
    {
        var builder = new GuestImageBuilder(options, line => Console.WriteLine($"  {line}"));
        Console.WriteLine($"guest image: recipe {builder.GuestConfigDir}, cache {builder.CacheDir}");
        if (dryRun)
        {
            Console.WriteLine($"  rootfs {builder.RootfsKey}: {builder.RootfsTarball} ({(File.Exists(builder.RootfsTarball) ? "cached" : "to build")})");
            Console.WriteLine($"  image  {builder.ImageKey}: {builder.CachedImage.Directory} ({(builder.CachedImage.IsComplete ? "cached" : "to build")})");
            return 0;
        }
        var image = await builder.EnsureAsync(cancellationToken);
        Console.WriteLine($"guest image ready: {image.Directory} (kernel {image.KernelRelease})");
        return 0;
    }
}
