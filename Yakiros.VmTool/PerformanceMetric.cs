namespace Yakiros.VmTool;

/// <summary>
/// One measurement, as a test writes it to <c>&lt;results-dir&gt;/metrics/&lt;name&gt;.json</c>. <c>comparison</c> is "max" (the value
/// must stay at or under the effective target) or "min" (at or over); the effective target is the target times the timing scale.
/// <see cref="Source"/> is added by the summary: the file it came from, relative to the results folder.
/// </summary>
internal sealed record PerformanceMetric(
    string Name,
    string? Title,
    double? Value,
    string? Unit,
    double? Target,
    string? Comparison,
    double? Scale,
    double? EffectiveTarget,
    bool? WithinTarget,
    string? Method,
    string? Test,
    string? MeasuredAt,
    string? Source)
{
    /// <summary>The metrics the Step-11 performance section names, in its order; the dashboard shows them as "not measured" when absent.</summary>
    public static IReadOnlyList<(string Name, string Title)> Expected { get; } =
    [
        ("yakiros_memory_kb", "Resolver memory (RSS)"),
        ("component_startup_avg_ms", "Component start-up, average"),
        ("graph_resolution_ms", "Graph resolution"),
        ("hot_swap_avg_ms", "Hot-swap, average"),
        ("health_check_cpu_percent", "Health-check CPU share"),
        ("graphctl_latency_under_load_ms", "graphctl latency under load"),
    ];

    /// <summary>True when the value must be at least the target ("min"), false for "max" (the default).</summary>
    public bool IsMinimum => string.Equals(Comparison, "min", StringComparison.OrdinalIgnoreCase);

    /// <summary>The file's fields completed: effective target = target × scale when not given, and within-target computed from the value.</summary>
    public PerformanceMetric Completed()
    {
        var effective = EffectiveTarget ?? Target * (Scale ?? 1);
        bool? within = Value is { } v && effective is { } t ? (IsMinimum ? v >= t : v <= t) : WithinTarget;
        return this with { EffectiveTarget = effective, WithinTarget = within };
    }
}
