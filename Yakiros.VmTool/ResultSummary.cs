namespace Yakiros.VmTool;

/// <summary>
/// Prints a one-screen summary of the JUnit files a test run wrote: counts per test class, then every failure and skip with
/// its reason. Then writes the run's summary.json and dashboard.html (see <see cref="Dashboard"/>) and prints their paths.
/// </summary>
internal static class ResultSummary
{
    public static int Run(string resultsDir)
    {
        var results = TestResultReader.Read(resultsDir);
        var files = results.JUnitFiles;
        if (files.Count == 0)
        {
            Console.Error.WriteLine($"no JUnit results under {resultsDir}");
            return 2;
        }
        var cases = results.Cases;
        Console.WriteLine();
        Console.WriteLine($"{"test class",-52} {"pass",5} {"fail",5} {"known",5} {"skip",5} {"time",8}");
        foreach (var group in cases.GroupBy(c => c.Class).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"{Shorten(group.Key, 52),-52} {Count(group, TestOutcome.Passed),5} {Count(group, TestOutcome.Failed),5} {Count(group, TestOutcome.KnownDefect),5} {Count(group, TestOutcome.Skipped),5} {group.Sum(c => c.Seconds),7:F1}s");
        }
        Console.WriteLine($"{"TOTAL",-52} {Count(cases, TestOutcome.Passed),5} {Count(cases, TestOutcome.Failed),5} {Count(cases, TestOutcome.KnownDefect),5} {Count(cases, TestOutcome.Skipped),5} {cases.Sum(c => c.Seconds),7:F1}s");
        foreach (var (outcome, title) in new[] { (TestOutcome.Failed, "FAILED"), (TestOutcome.KnownDefect, "KNOWN DEFECTS (reproduced as recorded)"), (TestOutcome.Skipped, "SKIPPED") })
        {
            var some = cases.Where(c => c.Outcome == outcome).ToList();
            if (some.Count == 0) continue;
            Console.WriteLine();
            Console.WriteLine($"{title}:");
            foreach (var same in some.GroupBy(c => FirstLine(c.Message)))
            {
                if (same.Count() > 3) Console.WriteLine($"  {same.Count()} tests ({string.Join(", ", same.Select(c => c.ShortClass).Distinct())})");
                else foreach (var c in same) Console.WriteLine($"  {Shorten(c.Class, 40)}.{c.Method}");
                Console.WriteLine($"      {same.Key}");
            }
        }
        Console.WriteLine();
        Console.WriteLine($"results: {string.Join(", ", files.Select(f => Path.GetRelativePath(Environment.CurrentDirectory, f)))} (and the .trx beside them)");
        WriteDashboard(resultsDir, results);
        return Count(cases, TestOutcome.Failed) == 0 ? 0 : 1;
    }

    /// <summary>summary.json and dashboard.html; a problem writing them is reported and does not change the run's exit code.</summary>
    private static void WriteDashboard(string resultsDir, TestRunResults results)
    {
        if (!Dashboard.IsRunFolder(resultsDir))
        {
            Console.WriteLine($"no summary.json or dashboard: {resultsDir} is not one run's folder");
            return;
        }
        try
        {
            Dashboard.Print(Dashboard.Write(resultsDir, results));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"could not write summary.json / dashboard.html in {resultsDir}: {e.Message}");
        }
    }

    private static int Count(IEnumerable<TestCaseResult> cases, TestOutcome outcome) => cases.Count(c => c.Outcome == outcome);

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() is { } line
            ? (line.Length > 200 ? line[..200] + "…" : line)
            : "(no message)";

    private static string Shorten(string text, int max) => text.Length <= max ? text : "…" + text[^(max - 1)..];
}
