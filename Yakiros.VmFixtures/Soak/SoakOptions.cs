using System.Globalization;
using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures.Soak;

/// <summary>
/// The soak run (Soak:* / YAKIROS_SOAK__*; `./run.sh soak --duration 24h --report-interval 1h --cycles 1000` sets them).
/// The defaults make the smoke that the normal suite includes (the same code, 12 s and 5 cycles); `./run.sh soak`
/// without options runs 60 s and 10 cycles.
/// </summary>
public sealed partial class SoakOptions
{
    /// <summary>How long the soak runs: a number with s, m, h or d (for example 90s, 30m, 24h).</summary>
    public string Duration { get; set; } = "12s";

    /// <summary>How often a report with a trend verdict is written.</summary>
    public string ReportInterval { get; set; } = "6s";

    /// <summary>How many restart cycles of a component to run during the soak (spread over it, as fast as they go).</summary>
    public int Cycles { get; set; } = 5;

    /// <summary>How often the resolver is sampled (RSS, fds, control latency, failed components); empty: a sixth of the report interval, 1 s to 1 min.</summary>
    public string? SampleInterval { get; set; }

    public TimeSpan DurationSpan => ParseDuration(Duration, nameof(Duration));

    public TimeSpan ReportIntervalSpan => ParseDuration(ReportInterval, nameof(ReportInterval));

    public TimeSpan SampleIntervalSpan => SampleInterval is { Length: > 0 } text
        ? ParseDuration(text, nameof(SampleInterval))
        : TimeSpan.FromSeconds(Math.Clamp(ReportIntervalSpan.TotalSeconds / 6, 1, 60));

    /// <summary>"90s", "30m", "24h", "1d", "1h30m" or a plain number of seconds.</summary>
    public static TimeSpan ParseDuration(string text, string setting = "duration")
    {
        var trimmed = text.Trim().ToLowerInvariant();
        if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain) && plain > 0) return TimeSpan.FromSeconds(plain);
        var parts = Part().Matches(trimmed);
        if (parts.Count == 0 || string.Concat(parts.Select(p => p.Value)) != trimmed)
            throw new VmConfigurationException($"Soak:{setting}='{text}' is not a duration: use a number with s, m, h or d, for example 90s, 30m, 24h, 1h30m.");
        var total = TimeSpan.Zero;
        foreach (Match p in parts)
        {
            var n = double.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture);
            total += p.Groups[2].Value switch { "s" => TimeSpan.FromSeconds(n), "m" => TimeSpan.FromMinutes(n), "h" => TimeSpan.FromHours(n), _ => TimeSpan.FromDays(n) };
        }
        return total > TimeSpan.Zero ? total : throw new VmConfigurationException($"Soak:{setting}='{text}' must be longer than zero: use a number with s, m, h or d, for example 90s, 30m, 24h.");
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)([smhd])")]
    private static partial Regex Part();
}
