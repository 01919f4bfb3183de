using Yakiros.VmFixtures.Soak;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>The periodic soak reports: report-NNN.json (samples and verdict) and report.md (one section per report).</summary>
public sealed class SoakReport(string directory, SoakOptions options)
{
    private int _count;

    public string Directory { get; } = directory;

    private sealed record Snapshot(int Report, bool Final, string Duration, string ReportInterval, int CyclesAsked, string Verdict, bool Leak,
        bool Degradation, SoakVerdict Trend, IReadOnlyList<SoakSample> Samples);

    /// <summary>Writes the next report and returns its one-paragraph text.</summary>
    public string Write(IReadOnlyList<SoakSample> samples, bool final)
    {
        System.IO.Directory.CreateDirectory(Directory);
        _count++;
        var verdict = SoakVerdict.From(samples);
        var last = samples[^1];
        var text = $"{(final ? "final report" : $"report {_count}")} at {last.At:hh\\:mm\\:ss}: {verdict.Describe()}; " +
                   $"now RSS {last.RssKb:0} KB, {last.OpenFds} fds, control latency {last.ControlLatencyMs:0.0} ms";
        RunResults.WriteJson(Path.Combine(Directory, final ? "report-final.json" : $"report-{_count:000}.json"),
            new Snapshot(_count, final, options.Duration, options.ReportInterval, options.Cycles, verdict.Describe(), verdict.Leak, verdict.Degradation, verdict, samples));
        File.AppendAllText(Path.Combine(Directory, "report.md"), $"## {(final ? "Final report" : $"Report {_count}")} ({DateTimeOffset.Now:u})\n\n{text}\n\n");
        return text;
    }
}
