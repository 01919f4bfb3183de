namespace Yakiros.VmFixtures;

/// <summary>
/// The Step-11 performance targets (docs/VM-TESTING.md, "Performance Benchmarks"), configurable as
/// Performance:* in appsettings.json or YAKIROS_PERFORMANCE__* (for example YAKIROS_PERFORMANCE__HOTSWAPSECONDS=8).
/// Under software emulation (TCG) every target that is a time or a CPU share is multiplied by
/// <see cref="TcgScale"/>: the same work costs that much more there. Memory is never scaled.
/// </summary>
public sealed class PerformanceTargets
{
    /// <summary>The resolver's resident memory with all features active (MB).</summary>
    public double ResolverRssMb { get; set; } = 50;

    /// <summary>Average start of a component with a readiness file, from its TOML appearing to ACTIVE (s).</summary>
    public double ComponentStartSeconds { get; set; } = 2;

    /// <summary>Resolution of a 50-or-more component graph with dependencies, until every component is ACTIVE (s).</summary>
    public double GraphResolutionSeconds { get; set; } = 1;

    /// <summary>One hot-swap upgrade, from the command to the new instance ACTIVE (s).</summary>
    public double HotSwapSeconds { get; set; } = 5;

    /// <summary>CPU share of the resolver and its health checks with 20 or more health-checked services (% of one CPU).</summary>
    public double HealthCheckCpuPercent { get; set; } = 2;

    /// <summary>
    /// How long the health-check CPU share is measured (s of guest time). The default is one health interval of the
    /// checked services (10 s): every check runs once in it. Longer windows average more rounds (`./run.sh` used 30 s).
    /// </summary>
    public double HealthCpuWindowSeconds { get; set; } = 10;

    /// <summary>The slowest control-socket answer while the guest's CPUs are saturated (s).</summary>
    public double GraphctlUnderLoadSeconds { get; set; } = 2;

    /// <summary>The factor applied to time and CPU targets under TCG (software emulation runs guest code 5-10× slower than KVM).</summary>
    public double TcgScale { get; set; } = 10;

    public double ScaleFor(Accelerator accelerator) => accelerator == Accelerator.Tcg ? TcgScale : 1;
}
