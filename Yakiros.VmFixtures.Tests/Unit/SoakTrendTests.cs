using Yakiros.VmFixtures.Soak;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SoakTrendTests
{
    private static List<SoakSample> Series(int count, Func<int, double> rss, Func<int, int>? fds = null, Func<int, double>? latency = null,
        Func<int, int>? failed = null) =>
        Enumerable.Range(0, count).Select(i => new SoakSample(TimeSpan.FromMinutes(i), rss(i), fds?.Invoke(i) ?? 12, latency?.Invoke(i) ?? 30,
            failed?.Invoke(i) ?? 0, i, 0)).ToList();

    [Fact]
    public void A_steady_resolver_with_noise_is_neither_leaking_nor_degrading()
    {
        var verdict = SoakVerdict.From(Series(30, i => 4000 + (i % 3) * 150, latency: i => i % 5 == 0 ? 140 : 30));

        verdict.Leak.Should().BeFalse(verdict.Describe());
        verdict.Degradation.Should().BeFalse(verdict.Describe());
    }

    [Fact]
    public void Memory_that_keeps_growing_is_a_leak()
    {
        var verdict = SoakVerdict.From(Series(30, i => 4000 + i * 100));

        verdict.Leak.Should().BeTrue();
        verdict.Describe().Should().Contain("LEAK").And.Contain("resolver RSS (KB): 4450 → 6450");
    }

    [Fact]
    public void Three_more_open_fds_at_the_end_is_a_leak() =>
        SoakVerdict.From(Series(9, _ => 4000, fds: i => i < 6 ? 12 : 15)).Fds.Grew.Should().BeTrue();

    [Fact]
    public void Doubled_control_latency_or_new_failed_components_is_degradation()
    {
        SoakVerdict.From(Series(9, _ => 4000, latency: i => i < 6 ? 30 : 200)).Degradation.Should().BeTrue();
        SoakVerdict.From(Series(9, _ => 4000, failed: i => i < 8 ? 0 : 1)).Degradation.Should().BeTrue();
    }

    [Fact]
    public void A_latency_burst_on_a_busy_emulator_is_not_degradation()
    {
        // As seen on a build whose soak was called degraded at 85 → 311 ms: late samples slow, but one as fast as the start.
        var verdict = SoakVerdict.From(Series(9, _ => 4000, latency: i => i switch { < 3 => 85, 6 => 80, _ => 311 }));

        verdict.Latency.Grew.Should().BeFalse(verdict.Describe());
        verdict.Degradation.Should().BeFalse();
    }

    // As seen in a default run: another guest saturated the host while the soak smoke sampled, and the client alone
    // slowed with the latency (latency 188, 156, 145, 176, 202, 196, 256, 372, 391 ms).
    private static readonly double[] BusyHostLatency = [188, 156, 145, 176, 202, 196, 256, 372, 391];

    [Fact]
    public void A_latency_rise_that_the_client_alone_shows_too_is_a_busier_host_not_degradation()
    {
        double[] alone = [170, 140, 130, 160, 180, 180, 235, 345, 360];
        var verdict = SoakVerdict.From(BusyHostLatency.Select((latency, i) => Sample(i, latency, alone[i])).ToList());

        verdict.Latency.Grew.Should().BeFalse(verdict.Describe());
        verdict.Degradation.Should().BeFalse();
    }

    [Fact]
    public void The_same_rise_while_the_client_alone_keeps_its_speed_is_degradation()
    {
        var verdict = SoakVerdict.From(BusyHostLatency.Select((latency, i) => Sample(i, latency, 140)).ToList());

        verdict.Latency.Grew.Should().BeTrue(verdict.Describe());
        verdict.Degradation.Should().BeTrue();
    }

    private static SoakSample Sample(int i, double latency, double alone) => new(TimeSpan.FromSeconds(i), 1924, 10, latency, 0, 5, 0, alone);

    [Fact]
    public void Latency_is_not_judged_from_fewer_than_three_samples_a_third()
    {
        // As seen on the published build on a loaded host: 8 samples, 172 → 1639 ms, while memory and fds stayed flat.
        var verdict = SoakVerdict.From(Series(8, _ => 1884, latency: i => i < 3 ? 172 : 1639));

        verdict.Latency.Grew.Should().BeFalse(verdict.Describe());
    }

    [Fact]
    public void A_trend_needs_three_samples() =>
        FluentActions.Invoking(() => SoakVerdict.From(Series(2, _ => 1))).Should().Throw<ArgumentException>();

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("24h", 86400)]
    [InlineData("1d", 86400)]
    [InlineData("1h30m", 5400)]
    [InlineData("45", 45)]
    public void Durations_read_like_the_command_line(string text, double seconds) =>
        SoakOptions.ParseDuration(text).TotalSeconds.Should().Be(seconds);

    [Theory]
    [InlineData("soon")]
    [InlineData("24 hours")]
    [InlineData("0s")]
    public void A_duration_that_is_not_one_names_the_setting_and_the_format(string text) =>
        FluentActions.Invoking(() => SoakOptions.ParseDuration(text, "Duration")).Should().Throw<VmConfigurationException>()
            .WithMessage("*Soak:Duration*90s, 30m, 24h*");

    [Fact]
    public void Without_a_sample_interval_the_soak_samples_six_times_per_report_within_1_s_and_1_min()
    {
        new SoakOptions { ReportInterval = "1h" }.SampleIntervalSpan.Should().Be(TimeSpan.FromMinutes(1));
        new SoakOptions { ReportInterval = "20s" }.SampleIntervalSpan.Should().Be(TimeSpan.FromSeconds(20.0 / 6));
        new SoakOptions { ReportInterval = "3s" }.SampleIntervalSpan.Should().Be(TimeSpan.FromSeconds(1));
        new SoakOptions { ReportInterval = "2m", SampleInterval = "7s" }.SampleIntervalSpan.Should().Be(TimeSpan.FromSeconds(7));
    }

    [Fact]
    public void Performance_targets_are_scaled_under_TCG_only_and_bind_from_the_environment_names()
    {
        var options = VmOptionsLoader.Load(Path.GetTempPath(), new Dictionary<string, string?>
        {
            ["Performance:HotSwapSeconds"] = "8", ["Performance:TcgScale"] = "4", ["Soak:Duration"] = "24h", ["Soak:Cycles"] = "1000",
        }, environment: false);

        options.Performance.HotSwapSeconds.Should().Be(8);
        options.Performance.ScaleFor(Accelerator.Tcg).Should().Be(4);
        options.Performance.ScaleFor(Accelerator.Kvm).Should().Be(1);
        options.Soak.DurationSpan.Should().Be(TimeSpan.FromHours(24));
        options.Soak.Cycles.Should().Be(1000);
    }
}
