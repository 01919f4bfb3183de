using System.Text.Json.Serialization;

namespace Yakiros.VmTool;

/// <summary>
/// <c>&lt;results-dir&gt;/summary.json</c>: the Step-11 results format (test_run_id ... success_rate), computed from what the run
/// wrote, plus the detail the dashboard shows (known defects, failures with their artifacts, skips, every test).
/// Serialized with snake_case names (<see cref="SummaryJson"/>). Absent inputs give null fields, never invented values.
/// </summary>
internal sealed record RunSummary(
    string TestRunId,
    string? StartTime,
    string? EndTime,
    double? DurationSeconds,
    string? YakirosVersion,
    string? YakirosBuildDir,
    double? TimingScale,
    VmConfig VmConfig,
    string? Boot,
    IReadOnlyDictionary<string, CategoryResult> TestResults,
    IReadOnlyDictionary<string, double?> PerformanceMetrics,
    double? SuccessRate,
    string SuccessRateBasis,
    RunTotals Totals,
    IReadOnlyList<PerformanceMetric> PerformanceDetails,
    IReadOnlyList<KnownDefectSeen> KnownDefects,
    IReadOnlyList<FailedTest> Failures,
    IReadOnlyList<SkipGroup> Skipped,
    IReadOnlyList<string> OtherArtifactFolders,
    IReadOnlyList<string> SoakReports,
    IReadOnlyList<TestEntry> Tests,
    TimeSpent Timing,
    SummaryInputs Inputs)
{
    public const string Basis =
        "100 * passed / (passed + failed + known_defect), rounded to 0.1; skipped tests did not run and are not counted; null when no test ran";
}

/// <summary>One category's counts; <see cref="Reason"/> is the common skip message when every test of the category was skipped.</summary>
internal sealed record CategoryResult(
    string Category,
    int Passed,
    int Failed,
    int Skipped,
    int KnownDefect,
    long DurationMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

internal sealed record RunTotals(int Tests, int Passed, int Failed, int Skipped, int KnownDefect, long DurationMs);

/// <summary>A known defect that reproduced in this run, parsed from the "KNOWN DEFECT YK-nnn: ..." skip message.</summary>
internal sealed record KnownDefectSeen(string Id, string? Title, string? Evidence, string? Symptom, IReadOnlyList<KnownDefectTest> Tests);

internal sealed record KnownDefectTest(
    string Test,
    string Category,
    string? Reproduced,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Artifacts);

/// <summary>A red test: its message, the full failure body, and the files of its artifact folder (relative to the results folder).</summary>
internal sealed record FailedTest(string Test, string Class, string Category, string Message, string Details, IReadOnlyList<string> Artifacts);

/// <summary>Tests skipped for the same reason (the first line of the skip message).</summary>
internal sealed record SkipGroup(string Reason, IReadOnlyList<string> Tests);

internal sealed record TestEntry(
    string Test,
    string Category,
    string Outcome,
    long DurationMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? KnownDefect,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Artifacts);

/// <summary>The files the summary was computed from, relative to the results folder; null when absent.</summary>
internal sealed record SummaryInputs(IReadOnlyList<string> Junit, IReadOnlyList<string> Trx, string? RunInfo, string? MetricsDir, IReadOnlyList<string> Warnings);

/// <summary>Where the run's time went: its slowest tests, and the harness's boots, restores and waits (from harness-times/*.json).</summary>
internal sealed record TimeSpent(IReadOnlyList<SlowTest> Slowest, IReadOnlyList<Yakiros.VmFixtures.HarnessTime> Harness);

internal sealed record SlowTest(string Test, string Category, double Seconds);
