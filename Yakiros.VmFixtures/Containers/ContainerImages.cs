using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Images;
using Microsoft.Extensions.Logging.Abstractions;

namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// The harness's container images, built by Testcontainers from the Dockerfiles in the repository's container/ folder
/// on a Debian base (the ContainerBaseImage option). A built image is tagged by a hash of its Dockerfile and base, so a
/// warm run builds nothing; older tags of the same image are removed, so images do not pile up. Where the base cannot
/// be had from a registry, it is imported from the suite's own Debian root file system in the image cache.
/// </summary>
public sealed class ContainerImages(ContainerEngine engine, VmOptions options, Action<string> log)
{
    public const string VmHost = "yakiros-vmhost";
    public const string Builder = "yakiros-builder";
    public const string LocalBase = "yakiros-debian-local";
    public const string ImageLabel = "yakiros.vmhost.image";
    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(5);
    private static readonly SemaphoreSlim OneBuild = new(1, 1);

    /// <summary>The folder with the Dockerfiles: container/ beside guest-config/.</summary>
    public string ContainerDir { get; } = Path.Combine(Path.GetDirectoryName(GuestConfigLocator.Find(options))!, "container");

    /// <summary>The image that runs QEMU and builds the guest image.</summary>
    public Task<string> EnsureVmHostAsync(CancellationToken cancellationToken) => EnsureAsync("Dockerfile", VmHost, cancellationToken);

    /// <summary>The image with Debian's compiler for source builds.</summary>
    public Task<string> EnsureBuilderAsync(CancellationToken cancellationToken) => EnsureAsync("Dockerfile.builder", Builder, cancellationToken);

    private async Task<string> EnsureAsync(string dockerfile, string repository, CancellationToken cancellationToken)
    {
        var path = Path.Combine(ContainerDir, dockerfile);
        if (!File.Exists(path)) throw new VmConfigurationException($"{path} is missing: the container images are built from it (restore it from the repository).");
        engine.ConfigureTestcontainers();
        await OneBuild.WaitAsync(cancellationToken);
        try
        {
            using var client = engine.CreateClient();
            var (baseName, baseId) = await ResolveBaseAsync(client, cancellationToken);
            var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{File.ReadAllText(path)}\n{baseId}")))[..16];
            var name = $"{repository}:{key}";
            if (await IdOfAsync(client, name, cancellationToken) is null)
            {
                log($"building the container image {name} from container/{dockerfile} on {baseName} (once per Dockerfile and base: 1-3 minutes)");
                var clock = Stopwatch.StartNew();
                var image = new ImageFromDockerfileBuilder()
                    .WithDockerEndpoint(engine.Endpoint.ToString())
                    .WithLogger(NullLogger.Instance)
                    .WithDockerfileDirectory(ContainerDir)
                    .WithDockerfile(dockerfile)
                    .WithName(name)
                    .WithBuildArgument("BASE", baseName)
                    .WithLabel(ImageLabel, repository)
                    .WithCleanUp(false)
                    .WithDeleteIfExists(false)
                    .WithImageBuildPolicy(PullPolicy.Missing)
                    .WithCreateParameterModifier(p =>
                    {
                        p.NetworkMode = "host"; // apt reaches the mirror even on an engine without iptables
                        p.Remove = true;
                        p.ForceRemove = true;   // no intermediate containers left behind by a failed step
                    })
                    .Build();
                try
                {
                    await image.CreateAsync(cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new VmException($"Building the container image {name} from {path} failed: {e.GetBaseException().Message}. " +
                                          "(Where apt failed: the image installs Debian packages, so the engine's build needs the Debian mirror.)", e);
                }
                if (await IdOfAsync(client, name, cancellationToken) is null)
                    throw new VmException($"Docker reported building {name} from {path}, but the engine has no such image; see the engine's log.");
                log($"container image {name} built in {clock.Elapsed.TotalSeconds:F1} s");
            }
            await PruneAsync(client, repository, name, cancellationToken);
            return name;
        }
        finally
        {
            OneBuild.Release();
        }
    }

    /// <summary>The configured base if the engine has it or can pull it, else one imported from the cached rootfs.</summary>
    private async Task<(string Name, string Id)> ResolveBaseAsync(DockerClient client, CancellationToken cancellationToken)
    {
        var wanted = options.ContainerBaseImage;
        if (await IdOfAsync(client, wanted, cancellationToken) is { } id) return (wanted, id);
        var pullProblem = await TryPullAsync(client, wanted, cancellationToken);
        if (pullProblem is null && await IdOfAsync(client, wanted, cancellationToken) is { } pulled) return (wanted, pulled);

        var rootfs = new GuestImageBuilder(options);
        var local = $"{LocalBase}:{rootfs.RootfsKey}";
        if (await IdOfAsync(client, local, cancellationToken) is { } imported) return (local, imported);
        if (!File.Exists(rootfs.RootfsTarball))
            throw new PrerequisiteMissingException(
                $"The container base image {wanted} is not on the engine and cannot be pulled ({pullProblem}), and there is no root file system " +
                $"{rootfs.RootfsTarball} to make a local base from. Fix one: `docker pull {wanted}` (or `docker load` it) where a registry is reachable; " +
                "set YAKIROS_CONTAINERBASEIMAGE to a Debian bookworm image the engine has; or build the suite's root file system once with " +
                "`./run.sh setup && ./run.sh prepare` on a Debian host.");
        log($"{wanted} cannot be pulled ({pullProblem}); importing a local base {local} from the suite's root file system {rootfs.RootfsTarball}");
        await ImportAsync(client, rootfs.RootfsTarball, local, cancellationToken);
        return (local, await IdOfAsync(client, local, cancellationToken)
                       ?? throw new VmException($"Docker imported {rootfs.RootfsTarball} but has no image {local}; see the engine's log."));
    }

    private static async Task<string?> TryPullAsync(DockerClient client, string image, CancellationToken cancellationToken)
    {
        var colon = image.LastIndexOf(':');
        var (repo, tag) = colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(PullTimeout);
        try
        {
            await client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = repo, Tag = tag }, null, new Progress<JSONMessage>(), deadline.Token);
            return null;
        }
        catch (DockerApiException e)
        {
            return e.ResponseBody is { Length: > 0 } body ? body.Trim() : e.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer from the registry within {PullTimeout.TotalMinutes:0} min";
        }
    }

    /// <summary>`zstd -dc rootfs | docker import`, labelled so that pruning finds it.</summary>
    private async Task ImportAsync(DockerClient client, string tarball, string name, CancellationToken cancellationToken)
    {
        var zstd = HostTools.Find("zstd")
                   ?? throw new PrerequisiteMissingException($"Importing {tarball} as the container base needs zstd on the host: sudo apt-get install -y zstd");
        var clock = Stopwatch.StartNew();
        var start = new ProcessStartInfo(zstd, ["-dc", tarball]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var unpack = Process.Start(start) ?? throw new VmException($"Could not start {zstd}.");
        try
        {
            await client.Images.CreateImageAsync(new ImagesCreateParameters
            {
                FromSrc = "-",
                Repo = name[..name.IndexOf(':')],
                Tag = name[(name.IndexOf(':') + 1)..],
                Changes = [$"LABEL {ImageLabel}={LocalBase}"],
            }, unpack.StandardOutput.BaseStream, null, new Progress<JSONMessage>(), cancellationToken);
            await unpack.WaitForExitAsync(cancellationToken);
        }
        finally
        {
            if (!unpack.HasExited) unpack.Kill();
        }
        if (unpack.ExitCode != 0) throw new VmException($"zstd -dc {tarball} failed (exit {unpack.ExitCode}): the cached root file system is damaged; delete it and run ./run.sh prepare.");
        log($"local base {name} imported in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task<string?> IdOfAsync(DockerClient client, string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.Images.InspectImageAsync(name, cancellationToken)).ID;
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Removes the other tags of this harness image (older Dockerfiles or bases); one in use by a container stays.</summary>
    private async Task PruneAsync(DockerClient client, string repository, string keep, CancellationToken cancellationToken)
    {
        var images = await client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ImageLabel}={repository}"] = true } },
        }, cancellationToken);
        foreach (var image in images.Where(i => !(i.RepoTags ?? []).Contains(keep)))
        {
            try
            {
                await client.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters(), cancellationToken);
                log($"removed the old container image {string.Join(", ", image.RepoTags ?? [image.ID])}");
            }
            catch (DockerApiException) { } // still used by a running container
        }
    }
}
