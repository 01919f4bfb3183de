using System.Diagnostics;
using System.Text.RegularExpressions;
using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>
/// Builds YakirOS from a source checkout (a folder with a Makefile and src/) whose graph-resolver and graphctl are
/// missing or older than its sources: the checkout's own Makefile runs on a copy of it in a throwaway container of
/// the guest's distribution (container/Dockerfile.builder: Debian's build-essential, the guest's glibc). The two
/// binaries are cached under the image cache by a hash of the sources, so an unchanged checkout is built once.
/// The suite contains no YakirOS code: it only runs the user's Makefile.
/// </summary>
public static partial class SourceBuild
{
    public static readonly string[] Targets = ["graph-resolver", "graphctl"];
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    public static bool IsSourceCheckout(string dir) => File.Exists(Path.Combine(dir, "Makefile")) && Directory.Exists(Path.Combine(dir, "src"));

    /// <summary>True when <paramref name="build"/> is a checkout whose binaries are missing or older than its Makefile or src/.</summary>
    public static bool NeedsBuild(YakirosBuild build)
    {
        if (!IsSourceCheckout(build.Directory)) return false;
        if (!File.Exists(build.Resolver) || !File.Exists(build.Graphctl)) return true;
        var newestSource = Sources(build.Directory).Max(File.GetLastWriteTimeUtc);
        var oldestBinary = new[] { build.Resolver, build.Graphctl }.Min(File.GetLastWriteTimeUtc);
        return newestSource > oldestBinary;
    }

    /// <summary>The sources key: a hash of the Makefile, everything under src/, and the extra make arguments.</summary>
    public static string SourcesKey(string dir, string makeArguments = "") =>
        CacheKey.Compute(Path.Combine(dir, "src"), File.ReadAllText(Path.Combine(dir, "Makefile")), makeArguments);

    /// <summary>
    /// <paramref name="build"/> itself when it needs no build; otherwise the cached build of its sources, made now if
    /// needed. A failed build throws with the compiler's own error lines.
    /// </summary>
    public static async Task<YakirosBuild> EnsureAsync(YakirosBuild build, VmOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        if (!NeedsBuild(build)) return build;
        var key = SourcesKey(build.Directory, options.MakeArguments);
        var output = new YakirosBuild(Path.Combine(options.ResolvedCacheDir, "yakiros-builds", key));
        if (File.Exists(output.Resolver) && File.Exists(output.Graphctl))
        {
            log($"YakirOS source checkout {build.Directory} (sources {key}) is built already: {output.Directory}");
            return output;
        }
        var (engine, problem) = await ContainerEngine.ProbeAsync(TimeSpan.FromSeconds(3), cancellationToken);
        if (engine is null)
            throw new PrerequisiteMissingException(
                $"{build.Directory} is a YakirOS source checkout whose graph-resolver/graphctl are missing or older than its sources. " +
                $"The suite builds it in a container of the guest's distribution, but {problem}. {ContainerEngine.HowToProvide} " +
                "Or build it yourself there (`make`, or `make static`).");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(BuildTimeout);
        var image = await new ContainerImages(engine, options, log).EnsureBuilderAsync(deadline.Token);
        var work = Path.Combine(options.ResolvedCacheDir, "yakiros-builds", $"{key}.work-{Environment.ProcessId}");
        try
        {
            CopyCheckout(build.Directory, work);
            var make = $"make -C '{work}' {options.MakeArguments} {string.Join(' ', Targets)}".Replace("  ", " ");
            log($"building YakirOS from the source checkout {build.Directory} (sources {key}): `{make}` in a {image} container");
            var clock = Stopwatch.StartNew();
            var logFile = Path.Combine(options.ResolvedCacheDir, "yakiros-builds", $"{key}.log");
            ProcessRunner.Outcome outcome;
            var lines = new List<string>();
            await using (var container = await HarnessContainer.StartAsync(engine, image, new ContainerSetup([work], []), options.ResolvedRunsDir, "make", deadline.Token))
                outcome = await container.ExecAsync(["/bin/sh", "-c", make], deadline.Token, lines.Add, tailLines: 60);
            await File.WriteAllLinesAsync(logFile, lines, deadline.Token);
            if (outcome.ExitCode != 0 || Targets.Any(t => !File.Exists(Path.Combine(work, t))))
                throw new VmConfigurationException(
                    $"Building YakirOS from {build.Directory} failed: `{make}` exited {outcome.ExitCode} in {image} " +
                    $"(Debian's compiler, the guest's glibc). Full log: {logFile}. Extra make arguments (for example to relax -Werror): " +
                    $"YAKIROS_MAKEARGUMENTS. The compiler said:\n{string.Join('\n', CompilerErrors(lines))}");
            var staging = output.Directory + $".tmp-{Environment.ProcessId}";
            Directory.CreateDirectory(staging);
            foreach (var target in Targets) File.Copy(Path.Combine(work, target), Path.Combine(staging, target), overwrite: true);
            if (Directory.Exists(output.Directory)) Directory.Delete(output.Directory, recursive: true);
            Directory.Move(staging, output.Directory);
            log($"built YakirOS from source in {clock.Elapsed.TotalSeconds:F1} s: {output.Directory} (log {logFile})");
            Prune(Path.GetDirectoryName(output.Directory)!);
            return output;
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// The compiler's and make's own error lines (each with the source line and caret the compiler printed after it, and
    /// the "In function" lines), or the output's tail when none match.
    /// </summary>
    public static IReadOnlyList<string> CompilerErrors(IReadOnlyList<string> lines)
    {
        var keep = new SortedSet<int>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (!ErrorLine().IsMatch(lines[i])) continue;
            keep.Add(i);
            for (var j = i + 1; j <= i + 2 && j < lines.Count && lines[j].StartsWith(' '); j++) keep.Add(j); // source line and caret
        }
        return keep.Count == 0 ? lines.TakeLast(30).ToList() : keep.Take(60).Select(i => lines[i]).ToList();
    }

    [GeneratedRegex(@"(^|:\s)(fatal\s)?error:|^[^\s:]+: In function|^(cc1|collect2|ld)[^:]*:|\*\*\*")]
    private static partial Regex ErrorLine();

    /// <summary>Keeps the newest builds (and their logs); older sources' builds go, so they do not pile up.</summary>
    private static void Prune(string buildsDir)
    {
        foreach (var old in Directory.GetDirectories(buildsDir).Where(d => !d.Contains(".work-", StringComparison.Ordinal))
                     .OrderByDescending(Directory.GetLastWriteTimeUtc).Skip(BuildsKept))
        {
            try
            {
                Directory.Delete(old, recursive: true);
                File.Delete(old + ".log");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private const int BuildsKept = 3;

    /// <summary>The checkout without .git, built objects or the binaries themselves, so the build starts clean.</summary>
    private static void CopyCheckout(string from, string to)
    {
        if (Directory.Exists(to)) Directory.Delete(to, recursive: true);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar)[0] == ".git" || relative.EndsWith(".o", StringComparison.Ordinal) || Targets.Contains(relative)) continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static IEnumerable<string> Sources(string dir) =>
        Directory.EnumerateFiles(Path.Combine(dir, "src"), "*", SearchOption.AllDirectories).Append(Path.Combine(dir, "Makefile"));
}
