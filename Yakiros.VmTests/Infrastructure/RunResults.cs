using System.Text.Json;
using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>This run's results folder (YAKIROS_RESULTSDIR, set by run.sh/run.ps1), where tests leave artifacts, metrics and run facts.</summary>
public static class RunResults
{
    private static readonly Lazy<string> IdeRun = new(() => $"ide-{DateTime.Now:yyyyMMdd-HHmmss}");

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Directory(VmOptions options)
    {
        var dir = options.ResultsDir is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(Path.GetDirectoryName(GuestConfigLocator.Find(options))!, "TestResults", IdeRun.Value);
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A folder for one test's files, named &lt;Class&gt;.&lt;Method&gt; (the display name without the namespace).</summary>
    public static string TestDirectory(VmOptions options, string testDisplayName)
    {
        var parts = testDisplayName.Split('(')[0].Split('.');
        var name = string.Join('.', parts.TakeLast(2));
        var dir = Path.Combine(Directory(options), string.Concat(name.Select(c => Path.GetInvalidFileNameChars().Contains(c) ? '_' : c)));
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    public static void WriteJson<T>(string path, T value)
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(value, Json));
    }
}
