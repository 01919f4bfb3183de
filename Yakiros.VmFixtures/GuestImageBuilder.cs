using System.Diagnostics;

namespace Yakiros.VmFixtures;

/// <summary>
/// Builds the guest image from guest-config into the per-user cache, in two cached stages:
/// the Debian root filesystem (keyed by guest-config/rootfs, about 40 s) and the bootable image
/// (keyed by all of guest-config, about 10 s). A warm cache rebuilds nothing.
/// </summary>
public sealed class GuestImageBuilder
{
    private const int ImagesKept = 3;
    private static readonly TimeSpan LockWait = TimeSpan.FromMinutes(20);

    private readonly Action<string>? _log;

    /// <summary>Hashes the recipe once: the keys stay those the build started with, even if the recipe is edited meanwhile.</summary>
    public GuestImageBuilder(VmOptions options, Action<string>? log = null)
    {
        _log = log;
        GuestConfigDir = GuestConfigLocator.Find(options);
        CacheDir = options.ResolvedCacheDir;
        RootfsKey = CacheKey.Compute(Path.Combine(GuestConfigDir, "rootfs"));
        ImageKey = CacheKey.Compute(GuestConfigDir, RootfsKey);
    }

    public string GuestConfigDir { get; }

    public string CacheDir { get; }

    public string RootfsKey { get; }

    public string ImageKey { get; }

    public string RootfsTarball => Path.Combine(CacheDir, "rootfs", $"{RootfsKey}.tar.zst");

    public GuestImage CachedImage => new(Path.Combine(CacheDir, "images", ImageKey), ImageKey);

    /// <summary>Time spent by the last <see cref="EnsureAsync"/> in each stage (zero when cached).</summary>
    public TimeSpan RootfsBuildTime { get; private set; }
    public TimeSpan ImageBuildTime { get; private set; }

    /// <summary>
    /// Runs one build stage (script, arguments, a sink for its output lines) somewhere else than on this host, for
    /// example in a container; null runs it here with the host's tools.
    /// </summary>
    public Func<string, IReadOnlyList<string>, Action<string>, CancellationToken, Task<ProcessRunner.Outcome>>? StageRunner { get; init; }

    public async Task<GuestImage> EnsureAsync(CancellationToken cancellationToken)
    {
        var image = CachedImage;
        if (image.IsComplete)
        {
            Log($"guest image {image.Key} is cached in {image.Directory}");
            return image;
        }

        var missing = StageRunner is null ? HostTools.DescribeMissing(HostTools.ImageBuild) : null;
        if (missing is not null) throw new PrerequisiteMissingException($"Cannot build the guest image. {missing}");

        Directory.CreateDirectory(CacheDir);
        await using var buildLock = await AcquireLockAsync(cancellationToken);
        if (image.IsComplete) return image; // another process built it while we waited

        if (!File.Exists(RootfsTarball))
        {
            Log($"building the guest root filesystem from Debian packages (cold: about a minute) -> {RootfsTarball}");
            Directory.CreateDirectory(Path.GetDirectoryName(RootfsTarball)!);
            RootfsBuildTime = await RunStageAsync("rootfs", Path.Combine(GuestConfigDir, "rootfs", "build-rootfs.sh"), [RootfsTarball], cancellationToken);
        }
        if (Directory.Exists(image.Directory)) Directory.Delete(image.Directory, recursive: true); // incomplete leftovers
        Log($"making the bootable image {image.Key} from {Path.GetFileName(RootfsTarball)}");
        Directory.CreateDirectory(Path.GetDirectoryName(image.Directory)!);
        ImageBuildTime = await RunStageAsync("image", Path.Combine(GuestConfigDir, "mkimage.sh"), [RootfsTarball, image.Directory], cancellationToken);
        if (!image.IsComplete)
            throw new ImageBuildException(
                $"mkimage.sh finished but {image.Directory} lacks: {string.Join(", ", image.RequiredFiles.Where(f => !File.Exists(f)).Select(Path.GetFileName))}.");
        Prune();
        return image;
    }

    private async Task<TimeSpan> RunStageAsync(string stage, string script, string[] arguments, CancellationToken cancellationToken)
    {
        var logFile = Path.Combine(CacheDir, $"build-{stage}.log");
        await using var writer = new StreamWriter(logFile, append: false);
        void OnLine(string line)
        {
            writer.WriteLine(line);
            if (line.StartsWith('[')) Log(line);
        }
        var outcome = StageRunner is { } runner
            ? await runner(script, arguments, OnLine, cancellationToken)
            : await ProcessRunner.RunAsync("/bin/sh", [script, .. arguments], OnLine, cancellationToken);
        if (outcome.ExitCode == 0)
        {
            Log($"{stage} stage done in {outcome.Duration.TotalSeconds:F1} s");
            return outcome.Duration;
        }
        throw new ImageBuildException(
            $"Building the guest {stage} failed ({Path.GetFileName(script)} exited {outcome.ExitCode}). Full log: {logFile}\n" +
            $"Last lines:\n{outcome.TailText}");
    }

    /// <summary>One build at a time per cache, across processes; a waiting process says what it waits for.</summary>
    private async Task<FileStream> AcquireLockAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(CacheDir, ".build.lock");
        var waited = Stopwatch.StartNew();
        var said = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < LockWait)
            {
                if (!said) Log($"another process is building the guest image (lock {path}); waiting");
                said = true;
                await Task.Delay(500, cancellationToken);
            }
            catch (IOException e)
            {
                throw new ImageBuildException($"Waited {LockWait.TotalMinutes} min for the image build lock {path}; if no build is running, delete it.", e);
            }
        }
    }

    private void Prune()
    {
        Keep(Path.Combine(CacheDir, "images"), d => new DirectoryInfo(d).LastWriteTimeUtc, Directory.GetDirectories, d => Directory.Delete(d, true));
        Keep(Path.Combine(CacheDir, "rootfs"), File.GetLastWriteTimeUtc, d => Directory.GetFiles(d, "*.tar.zst"), File.Delete);
    }

    private void Keep(string dir, Func<string, DateTime> age, Func<string, string[]> list, Action<string> delete)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var old in list(dir).OrderByDescending(age).Skip(ImagesKept))
        {
            Log($"pruning old cache entry {old}");
            try { delete(old); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private void Log(string message) => _log?.Invoke(message);
}
