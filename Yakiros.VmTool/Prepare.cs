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
        if (builder.CachedImage.IsComplete)
        {
            Console.WriteLine($"guest image ready: {builder.CachedImage.Directory} (kernel {builder.CachedImage.KernelRelease})");
            return 0;
        }
        // Built where the VM will run: with the host's tools, or in the container VM host (YAKIROS_VMHOST).
        await using var host = await VmHosts.CreateAsync(options, line => Console.WriteLine($"  {line}"), cancellationToken);
        var image = await host.EnsureImageAsync(cancellationToken);
        Console.WriteLine($"guest image ready: {image.Directory} (kernel {image.KernelRelease}), built by {host.Description}");
        return 0;
    }
}
