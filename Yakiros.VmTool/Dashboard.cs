namespace Yakiros.VmTool;

/// <summary>The files <see cref="Dashboard.Write"/> wrote; <see cref="RootHtml"/> is null when a later run owns the root dashboard.</summary>
internal sealed record DashboardFiles(string Json, string Html, string? RootHtml, IReadOnlyList<string> Warnings, TimeSpent? Timing = null, double? DurationSeconds = null);

/// <summary>
/// Writes a run's summary.json and dashboard.html into its results folder, and refreshes the results root's dashboard.html
/// (a copy of the latest run's, with links that work from the root). `summary` calls it after its console table;
/// `dashboard` calls it alone.
/// </summary>
internal static class Dashboard
{
    public const string FileName = "dashboard.html";

    /// <summary>yakiros-vmtool dashboard &lt;results-dir&gt;: regenerates summary.json and the dashboards, without the console table.</summary>
    public static int Run(string resultsDir)
    {
        if (!IsRunFolder(resultsDir))
        {
            Console.Error.WriteLine($"no JUnit results in {resultsDir} (give one run's folder, TestResults/<run>)");
            return 2;
        }
        var files = Write(resultsDir, TestResultReader.Read(resultsDir));
        Print(files);
        return 0;
    }

    /// <summary>A run's folder holds its JUnit files directly (a results root holds them one level down).</summary>
    public static bool IsRunFolder(string resultsDir) =>
        Directory.Exists(resultsDir) && Directory.EnumerateFiles(resultsDir, "*.junit.xml", SearchOption.TopDirectoryOnly).Any();

    public static DashboardFiles Write(string resultsDir, TestRunResults results)
    {
        var dir = Path.GetFullPath(resultsDir);
        var runFolder = RunSummaryBuilder.RunName(dir);
        var root = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(dir)) ?? dir;
        var summary = RunSummaryBuilder.Build(dir, results);
        var json = Path.Combine(dir, SummaryJson.FileName);
        WriteAtomically(json, SummaryJson.Serialize(summary) + "\n");

        var warnings = new List<string>(summary.Inputs.Warnings);
        var history = RunHistory.Load(root, warnings);
        var html = Path.Combine(dir, FileName);
        WriteAtomically(html, DashboardHtml.Render(summary, runFolder, history, new DashboardLinks("", "../")));

        string? rootHtml = null;
        if (history.Count == 0 || history[^1].Folder == runFolder)
        {
            rootHtml = Path.Combine(root, FileName);
            WriteAtomically(rootHtml, DashboardHtml.Render(summary, runFolder, history, new DashboardLinks(runFolder + "/", "")));
        }
        else
        {
            warnings.Add($"{Path.Combine(root, FileName)} left as it is: {history[^1].Folder} is a later run");
        }
        return new DashboardFiles(json, html, rootHtml, warnings, summary.Timing, summary.DurationSeconds);
    }

    public static void Print(DashboardFiles files)
    {
        if (files.Timing is { } timing) PrintTiming(timing, files.DurationSeconds);
        foreach (var warning in files.Warnings) Console.WriteLine($"note: {warning}");
        Console.WriteLine($"summary:   {Shown(files.Json)}");
        Console.WriteLine($"dashboard: {Shown(files.Html)}");
        if (files.RootHtml is not null) Console.WriteLine($"           {Shown(files.RootHtml)} (latest run)");
    }

    /// <summary>Where the time went: the slowest tests and the harness's own time, so that a regression in speed shows.</summary>
    private static void PrintTiming(TimeSpent timing, double? durationSeconds)
    {
        Console.WriteLine($"where the time went{(durationSeconds is { } d ? $" (tests ran for {d:0} s, first start to last finish)" : "")}:");
        foreach (var slow in timing.Slowest.Take(5)) Console.WriteLine($"  {slow.Seconds,6:0.0} s  {slow.Test}"); // ShortClass.Method already
        if (timing.Harness.Count > 0)
            Console.WriteLine("  harness: " + string.Join(" · ", timing.Harness.Select(t =>
                $"{t.Kind} {t.Count}× {t.Seconds:0.0} s{(t.Count > 0 && t.Kind != Yakiros.VmFixtures.HarnessTimes.Wait ? $" ({t.Seconds / t.Count:0.00} s each)" : "")}")) +
                " (summed over every guest; the guests run side by side)");
    }

    private static string Shown(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
