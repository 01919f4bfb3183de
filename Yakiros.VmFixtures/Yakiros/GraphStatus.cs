using System.Globalization;
using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>One row of `graphctl status`.</summary>
public sealed record ComponentStatus(string Name, string State, int? Pid, string Uptime, int Restarts);

/// <summary>The parsed `status` table plus its summary line.</summary>
public sealed partial record GraphStatus(IReadOnlyList<ComponentStatus> Components, string Summary, string Raw)
{
    public static readonly string[] States = ["INACTIVE", "STARTING", "READY_WAIT", "ACTIVE", "DEGRADED", "FAILED", "DONE"];

    public ComponentStatus? Find(string name) => Components.FirstOrDefault(c => c.Name == name);

    public ComponentStatus this[string name] =>
        Find(name) ?? throw new KeyNotFoundException($"component '{name}' is not in the status table:\n{Raw}");

    /// <summary>
    /// The summary line the rows imply, as YakirOS counts (src/control.c:126-151): active = ACTIVE + DONE,
    /// starting = STARTING + READY_WAIT, total = every row.
    /// </summary>
    public string SummaryFromRows()
    {
        int Count(params string[] states) => Components.Count(c => states.Contains(c.State));
        return $"Summary: {Count("ACTIVE", "DONE")} active, {Count("DEGRADED")} degraded, {Count("STARTING", "READY_WAIT")} starting, " +
               $"{Count("FAILED")} failed, {Components.Count} total";
    }

    public static GraphStatus Parse(string raw)
    {
        var rows = new List<ComponentStatus>();
        foreach (var line in raw.Split('\n'))
        {
            var m = Row().Match(line);
            if (!m.Success) continue;
            rows.Add(new ComponentStatus(m.Groups["name"].Value, m.Groups["state"].Value,
                m.Groups["pid"].Value == "-" ? null : int.Parse(m.Groups["pid"].Value, CultureInfo.InvariantCulture),
                m.Groups["uptime"].Value, int.Parse(m.Groups["restarts"].Value, CultureInfo.InvariantCulture)));
        }
        if (!raw.Contains("COMPONENT", StringComparison.Ordinal))
            throw new FormatException($"Not a status table:\n{raw}");
        var summary = raw.Split('\n').FirstOrDefault(l => l.StartsWith("Summary:", StringComparison.Ordinal)) ?? "";
        return new GraphStatus(rows, summary.Trim(), raw);
    }

    [GeneratedRegex(@"^(?<name>\S+)\s+(?<state>INACTIVE|STARTING|READY_WAIT|ACTIVE|DEGRADED|FAILED|DONE)\s+(?<pid>-|\d+)\s+(?<uptime>\S+)\s+(?<restarts>\d+)\s*$")]
    private static partial Regex Row();
}

/// <summary>The numbers of `graphctl analyze`.</summary>
public sealed partial record GraphAnalysis(int Components, int Capabilities, int TotalDependencies, double AverageDependencies,
    int MaxDepth, int StronglyConnected, bool CyclesReported, string Raw)
{
    public static GraphAnalysis Parse(string raw)
    {
        int Int(string label) => int.Parse(Field(label), CultureInfo.InvariantCulture);
        string Field(string label) => Regex.Match(raw, $@"{Regex.Escape(label)}:\s+(\S+)").Groups[1] is { Success: true } g
            ? g.Value : throw new FormatException($"analyze output lacks '{label}':\n{raw}");
        return new GraphAnalysis(Int("Components"), Int("Capabilities"), Int("Total Dependencies"),
            double.Parse(Field("Avg Dependencies/Comp"), CultureInfo.InvariantCulture), Int("Max Dependency Depth"), Int("Strongly Connected Comp"),
            raw.Contains("cycles detected!", StringComparison.OrdinalIgnoreCase), raw);
    }
}
