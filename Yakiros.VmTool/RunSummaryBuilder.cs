using System.Globalization;

namespace Yakiros.VmTool;

/// <summary>Computes <see cref="RunSummary"/> from what a run wrote: JUnit/TRX results, run-info.json, metrics/*.json, artifact folders, soak reports.</summary>
internal static class RunSummaryBuilder
{
    public const string RunInfoFile = "run-info.json";
    public const string MetricsDir = "metrics";
    public const string SoakDir = "soak";
    private const int MaxDetailsChars = 8000;

    public static RunSummary Build(string resultsDir, TestRunResults results)
    {
        var dir = Path.GetFullPath(resultsDir);
        var warnings = new List<string>(results.Warnings);
        var runInfo = SummaryJson.ReadInput<RunInfo>(Path.Combine(dir, RunInfoFile), RunInfoFile, warnings);
        var metrics = ReadMetrics(dir, warnings);
        var artifacts = new ArtifactFolders(dir);
        var cases = CategoryKeys.InOrder(results.Cases, c => CategoryKeys.KeyOf(c.Category)).ThenBy(c => c.DisplayName, StringComparer.Ordinal).ToList();
        var passed = Count(cases, TestOutcome.Passed);
        var failed = Count(cases, TestOutcome.Failed);
        var known = Count(cases, TestOutcome.KnownDefect);
        var ran = passed + failed + known;
        var tests = cases.Select(c => new TestEntry(c.DisplayName, CategoryKeys.KeyOf(c.Category), OutcomeName(c.Outcome), Ms([c]), c.KnownDefectId, artifacts.For(c))).ToArray();
        var failures = cases.Where(c => c.Outcome == TestOutcome.Failed)
            .Select(c => new FailedTest(c.DisplayName, c.Class, CategoryKeys.KeyOf(c.Category), c.Message, Truncate(c.Details), artifacts.For(c) ?? []))
            .ToArray();
        var knownDefects = KnownDefects(cases, artifacts);

        return new RunSummary(
            TestRunId: $"yakiros-vmtests-{RunName(dir)}",
            StartTime: Iso(results.Start),
            EndTime: Iso(results.Finish),
            DurationSeconds: results is { Start: { } s, Finish: { } f } ? Math.Round((f - s).TotalSeconds, 1, MidpointRounding.AwayFromZero) : null,
            YakirosVersion: runInfo?.YakirosVersion,
            YakirosBuildDir: runInfo?.YakirosBuildDir,
            TimingScale: runInfo?.TimingScale,
            VmConfig: runInfo?.VmConfig ?? VmConfig.Unknown,
            Boot: runInfo?.Boot,
            TestResults: Categories(cases),
            PerformanceMetrics: MetricValues(metrics),
            SuccessRate: ran == 0 ? null : Math.Round(100.0 * passed / ran, 1, MidpointRounding.AwayFromZero),
            SuccessRateBasis: RunSummary.Basis,
            Totals: new RunTotals(cases.Count, passed, failed, Count(cases, TestOutcome.Skipped), known, Ms(cases)),
            PerformanceDetails: metrics,
            KnownDefects: knownDefects,
            Failures: failures,
            Skipped: cases.Where(c => c.Outcome == TestOutcome.Skipped)
                .GroupBy(c => FirstLine(c.Message))
                .Select(g => new SkipGroup(g.Key, g.Select(c => c.DisplayName).ToArray()))
                .ToArray(),
            OtherArtifactFolders: artifacts.Unmatched(),
            SoakReports: SoakReports(dir),
            Tests: tests,
            Timing: new TimeSpent(
                cases.OrderByDescending(c => c.Seconds).Take(SlowestShown)
                    .Select(c => new SlowTest(c.DisplayName, CategoryKeys.KeyOf(c.Category), Math.Round(c.Seconds, 1))).ToArray(),
                HarnessTimes(dir, warnings)),
            Inputs: new SummaryInputs(
                results.JUnitFiles.Select(f => Relative(dir, f)).ToArray(),
                results.TrxFiles.Select(f => Relative(dir, f)).ToArray(),
                File.Exists(Path.Combine(dir, RunInfoFile)) ? RunInfoFile : null,
                Directory.Exists(Path.Combine(dir, MetricsDir)) ? MetricsDir : null,
                warnings));
    }

    public const int SlowestShown = 10;

    /// <summary>The harness times of every test process of the run (harness-times/*.json), added up per kind.</summary>
    private static IReadOnlyList<Yakiros.VmFixtures.HarnessTime> HarnessTimes(string dir, List<string> warnings)
    {
        var folder = Path.Combine(dir, Yakiros.VmFixtures.HarnessTimes.Folder);
        if (!Directory.Exists(folder)) return [];
        return Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal)
            .SelectMany(f => SummaryJson.ReadInput<Yakiros.VmFixtures.HarnessTime[]>(f, $"{Yakiros.VmFixtures.HarnessTimes.Folder}/{Path.GetFileName(f)}", warnings) ?? [])
            .GroupBy(t => t.Kind)
            .Select(g => new Yakiros.VmFixtures.HarnessTime(g.Key, g.Sum(t => t.Count), Math.Round(g.Sum(t => t.Seconds), 1)))
            .OrderBy(t => t.Kind, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The run's folder name (TestResults/&lt;run&gt;), the last part of test_run_id.</summary>
    public static string RunName(string resultsDir) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(resultsDir)));

    public static string OutcomeName(TestOutcome outcome) => outcome switch
    {
        TestOutcome.Passed => "passed",
        TestOutcome.Failed => "failed",
        TestOutcome.KnownDefect => "known_defect",
        _ => "skipped",
    };

    private static Dictionary<string, CategoryResult> Categories(IEnumerable<TestCaseResult> cases) =>
        CategoryKeys.InOrder(cases.GroupBy(c => CategoryKeys.KeyOf(c.Category)), g => g.Key).ToDictionary(g => g.Key, g =>
        {
            var list = g.ToList();
            var (passed, failed, skipped, known) = (Count(list, TestOutcome.Passed), Count(list, TestOutcome.Failed), Count(list, TestOutcome.Skipped), Count(list, TestOutcome.KnownDefect));
            return new CategoryResult(list[0].Category ?? CategoryKeys.CategoryOf(g.Key), passed, failed, skipped, known, Ms(list),
                                      passed + failed + known == 0 ? CommonReason(list) : null);
        });

    /// <summary>The skip message all tests share; when they differ, the most common one and how many tests had another.</summary>
    private static string CommonReason(IReadOnlyList<TestCaseResult> skipped)
    {
        var groups = skipped.GroupBy(c => FirstLine(c.Message)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var others = skipped.Count - groups[0].Count();
        return others == 0 ? groups[0].Key : $"{groups[0].Key} (and {others} skipped for other reasons)";
    }

    private static KnownDefectSeen[] KnownDefects(IEnumerable<TestCaseResult> cases, ArtifactFolders artifacts) =>
        cases.Where(c => c.Outcome == TestOutcome.KnownDefect)
            .Select(c => (Case: c, Parsed: KnownDefectMessage.Parse(c.Message)))
            .GroupBy(x => x.Parsed?.Id ?? x.Case.KnownDefectId ?? "unidentified")
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new KnownDefectSeen(
                g.Key,
                g.Select(x => x.Parsed?.Title).FirstOrDefault(t => t is not null),
                g.Select(x => x.Parsed?.Evidence).FirstOrDefault(t => t is not null),
                g.Select(x => x.Parsed?.Symptom).FirstOrDefault(t => t is not null),
                g.Select(x => new KnownDefectTest(x.Case.DisplayName, CategoryKeys.KeyOf(x.Case.Category), x.Parsed?.Reproduced, artifacts.For(x.Case))).ToArray()))
            .ToArray();

    private static PerformanceMetric[] ReadMetrics(string dir, List<string> warnings)
    {
        var folder = Path.Combine(dir, MetricsDir);
        if (!Directory.Exists(folder)) return [];
        return Directory.GetFiles(folder, "*.json")
            .Order(StringComparer.Ordinal)
            .Select(file =>
            {
                var source = Relative(dir, file);
                var metric = SummaryJson.ReadInput<PerformanceMetric>(file, source, warnings);
                if (metric is null) return null;
                var name = string.IsNullOrWhiteSpace(metric.Name) ? Path.GetFileNameWithoutExtension(file) : metric.Name;
                if (metric.Value is null) warnings.Add($"{source}: no value");
                return metric.Completed() with { Name = name, Source = source };
            })
            .OfType<PerformanceMetric>()
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ThenBy(m => m.MeasuredAt, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>name → value: the Step-11 metrics always (null when not measured), then any other; the latest measurement of a name wins.</summary>
    private static Dictionary<string, double?> MetricValues(IReadOnlyList<PerformanceMetric> metrics)
    {
        var values = PerformanceMetric.Expected.ToDictionary(e => e.Name, _ => (double?)null);
        foreach (var m in metrics) values[m.Name] = m.Value;
        return values;
    }

    private static string[] SoakReports(string dir)
    {
        var folder = Path.Combine(dir, SoakDir);
        return Directory.Exists(folder)
            ? Directory.GetFiles(folder, "report*", SearchOption.AllDirectories).Select(f => Relative(dir, f)).Order(StringComparer.Ordinal).ToArray()
            : [];
    }

    private static int Count(IEnumerable<TestCaseResult> cases, TestOutcome outcome) => cases.Count(c => c.Outcome == outcome);

    private static long Ms(IEnumerable<TestCaseResult> cases) => (long)Math.Round(cases.Sum(c => c.Seconds) * 1000, MidpointRounding.AwayFromZero);

    private static string? Iso(DateTimeOffset? time) => time?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Relative(string dir, string path) => Path.GetRelativePath(dir, path).Replace(Path.DirectorySeparatorChar, '/');

    private static string Truncate(string text) => text.Length <= MaxDetailsChars ? text : text[..MaxDetailsChars] + "\n…";

    /// <summary>The first non-empty line, as the console summary groups skips.</summary>
    public static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no message)";
}
