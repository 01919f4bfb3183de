using System.Globalization;
using System.Text.Json;

namespace Yakiros.VmTool;

/// <summary>One earlier (or the current) run, as its summary.json tells it: enough for the history charts.</summary>
internal sealed record HistoryPoint(
    string Folder,
    string RunId,
    DateTimeOffset? Start,
    double? SuccessRate,
    int Passed,
    int Failed,
    int KnownDefect,
    int Skipped,
    IReadOnlyDictionary<string, MetricPoint> Metrics,
    double? DurationSeconds = null);

/// <summary>One metric of one run: the value and the target it was held to (targets move with the timing scale).</summary>
internal sealed record MetricPoint(double? Value, double? EffectiveTarget, string? Unit, string? Title, bool IsMinimum);

/// <summary>
/// The runs kept in the results root: every <c>&lt;root&gt;/*/summary.json</c>, oldest first (by start time, else by when the
/// summary was written). Read field by field, so that a summary of an older or newer format still shows what it has.
/// </summary>
internal static class RunHistory
{
    public static IReadOnlyList<HistoryPoint> Load(string resultsRoot, List<string> warnings)
    {
        if (!Directory.Exists(resultsRoot)) return [];
        var points = new List<(HistoryPoint Point, DateTimeOffset Order)>();
        foreach (var folder in Directory.GetDirectories(resultsRoot))
        {
            var file = Path.Combine(folder, SummaryJson.FileName);
            if (!File.Exists(file)) continue;
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                var point = Read(Path.GetFileName(folder), doc.RootElement);
                points.Add((point, point.Start ?? new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero)));
            }
            catch (Exception e) when (e is JsonException or IOException or InvalidOperationException)
            {
                warnings.Add($"history: {Path.GetFileName(folder)}/{SummaryJson.FileName} ignored ({e.Message})");
            }
        }
        return points.OrderBy(p => p.Order).ThenBy(p => p.Point.Folder, StringComparer.Ordinal).Select(p => p.Point).ToArray();
    }

    public static HistoryPoint Read(string folder, JsonElement root)
    {
        var totals = Object(root, "totals");
        var categories = Object(root, "test_results");
        int Sum(string name) => totals is { } t && Number(t, name) is { } n ? (int)n
            : categories?.EnumerateObject().Sum(c => c.Value.ValueKind == JsonValueKind.Object ? (int)(Number(c.Value, name) ?? 0) : 0) ?? 0;

        var metrics = new Dictionary<string, MetricPoint>(StringComparer.Ordinal);
        if (Object(root, "performance_metrics") is { } values)
            foreach (var m in values.EnumerateObject())
                metrics[m.Name] = new MetricPoint(m.Value.ValueKind == JsonValueKind.Number ? m.Value.GetDouble() : null, null, null, null, false);
        if (root.TryGetProperty("performance_details", out var details) && details.ValueKind == JsonValueKind.Array)
            foreach (var d in details.EnumerateArray().Where(d => d.ValueKind == JsonValueKind.Object))
                if (Text(d, "name") is { } name)
                    metrics[name] = new MetricPoint(Number(d, "value"), Number(d, "effective_target"), Text(d, "unit"), Text(d, "title"),
                                                    string.Equals(Text(d, "comparison"), "min", StringComparison.OrdinalIgnoreCase));

        return new HistoryPoint(
            folder,
            Text(root, "test_run_id") ?? folder,
            DateTimeOffset.TryParse(Text(root, "start_time"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var start) ? start.ToUniversalTime() : null,
            Number(root, "success_rate"),
            Sum("passed"), Sum("failed"), Sum("known_defect"), Sum("skipped"),
            metrics,
            Number(root, "duration_seconds"));
    }

    private static JsonElement? Object(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
