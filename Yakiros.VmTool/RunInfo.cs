namespace Yakiros.VmTool;

/// <summary>
/// <c>&lt;results-dir&gt;/run-info.json</c>, written by the tests: which YakirOS build ran, in which VM, with which timing scale
/// (the factor that stretches timing targets under software emulation), and how the YakirOS boot went.
/// </summary>
internal sealed record RunInfo(string? YakirosBuildDir, string? YakirosVersion, VmConfig? VmConfig, double? TimingScale, string? Boot);

/// <summary>The guest the tests ran in; every field is null when the run did not record it.</summary>
internal sealed record VmConfig(int? RamMb, int? Cpus, string? Os, string? Kernel, string? Accelerator)
{
    public static VmConfig Unknown { get; } = new(null, null, null, null, null);
}
