namespace Yakiros.VmFixtures.Soak;

/// <summary>
/// One sample of the resolver during a soak. <paramref name="ClientAloneMs"/> is the same control client run against
/// /dev/null at the same moment: how fast the guest runs it without PID 1 (0 when not measured).
/// </summary>
public sealed record SoakSample(TimeSpan At, double RssKb, int OpenFds, double ControlLatencyMs, int FailedComponents, int CyclesDone, int CycleFailures,
    double ClientAloneMs = 0);

/// <summary>The verdict on one series: how its last third compares with its first third.</summary>
public sealed record SeriesTrend(string Name, double First, double Last, double Threshold, bool Grew)
{
    public string Describe() => $"{Name}: {First:0.#} → {Last:0.#} (median of the first vs the last third; grows when the rise exceeds {Threshold:0.#})" +
                                (Grew ? " GROWING" : " steady");
}

/// <summary>
/// Leak and degradation verdicts from soak samples. Medians of the first and last thirds keep single noisy samples
/// (this is a 2-core emulated machine) from deciding. A leak: resident memory up by more than 10 % and 512 KB, or
/// open fds up by 3 or more. Degradation: control latency more than doubled and up by 50 ms or more, with every
/// sample of the last third slower than every sample of the first (a sustained rise, not a burst; judged from 9
/// samples on), or more failed components at the end than at the start, or failed restart cycles.
/// The latency is judged at the guest's speed of the start: each sample is scaled by how much slower or faster the
/// guest ran the client alone then than in the first third (under emulation the client's own start dominates, and the
/// other guests on the host change it); a slower PID 1 still shows, a busier host does not.
/// </summary>
public sealed record SoakVerdict(SeriesTrend Memory, SeriesTrend Fds, SeriesTrend Latency, int FailedAtStart, int FailedAtEnd, int Cycles, int CycleFailures, int Samples)
{
    public bool Leak => Memory.Grew || Fds.Grew;

    public bool Degradation => Latency.Grew || FailedAtEnd > FailedAtStart || CycleFailures > 0;

    public string Describe() =>
        $"{(Leak ? "LEAK" : "no leak")}, {(Degradation ? "DEGRADATION" : "no degradation")} over {Samples} samples; {Memory.Describe()}; {Fds.Describe()}; " +
        $"{Latency.Describe()}; failed components {FailedAtStart} → {FailedAtEnd}; restart cycles {Cycles} done, {CycleFailures} failed";

    public static SoakVerdict From(IReadOnlyList<SoakSample> samples)
    {
        if (samples.Count < 3) throw new ArgumentException("a trend needs at least 3 samples", nameof(samples));
        var third = Math.Max(1, samples.Count / 3);
        SeriesTrend Trend(string name, Func<SoakSample, double> value, Func<double, double> threshold, bool sustained = false)
        {
            var (early, late) = (samples.Take(third).Select(value).ToList(), samples.TakeLast(third).Select(value).ToList());
            var (first, last) = (Median(early), Median(late));
            var limit = threshold(first);
            // A sustained rise: every late sample above every early one, over at least 3 samples a third. Bursts of a busy
            // emulator (a synchronous health check in PID 1 while a sample is taken) are not a trend.
            return new SeriesTrend(name, first, last, limit, last - first > limit && (!sustained || (third >= 3 && late.Min() > early.Max())));
        }
        var end = samples[^1];
        return new SoakVerdict(
            Trend("resolver RSS (KB)", s => s.RssKb, first => Math.Max(512, first * 0.10)),
            Trend("resolver open fds", s => s.OpenFds, _ => 2.5),
            Trend("control latency at the starting guest speed (ms)", AtStartingSpeed(samples, third), first => Math.Max(50, first), sustained: true),
            samples[0].FailedComponents, end.FailedComponents, end.CyclesDone, end.CycleFailures, samples.Count);
    }

    /// <summary>A sample's latency scaled by the client's start then against the first third's (unscaled when not measured).</summary>
    private static Func<SoakSample, double> AtStartingSpeed(IReadOnlyList<SoakSample> samples, int third)
    {
        if (samples.Any(s => s.ClientAloneMs <= 0)) return s => s.ControlLatencyMs;
        var reference = Median(samples.Take(third).Select(s => s.ClientAloneMs));
        return s => s.ControlLatencyMs * reference / s.ClientAloneMs;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
