namespace Yakiros.VmTests.Infrastructure;

/// <summary>What the fixture saw while YakirOS booted, before any workaround: the tests for boot-time claims assert on it.</summary>
public sealed record BootReport(
    TimeSpan SshReady, TimeSpan? Settled, string? Pid1Unresponsive, string? WorkaroundApplied, string FirstStatus, string? ChildExitObserved = null,
    string InitMounts = "")
{
    /// <summary>"&lt;mount point&gt; &lt;fs type&gt;" lines of PID 1's mountinfo once the graph settled.</summary>
    public IReadOnlyList<string> Mounts => InitMounts.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string Describe() =>
        $"SSH ready after {SshReady.TotalSeconds:F1} s; graph {(Settled is { } s ? $"settled after {s.TotalSeconds:F1} s" : "never settled")}; " +
        (Pid1Unresponsive is null ? "PID 1 answered throughout" : $"PID 1 stopped answering: {Pid1Unresponsive}") +
        (WorkaroundApplied is null ? "" : $"; workaround: {WorkaroundApplied}") +
        (ChildExitObserved is null ? "" : $"; {ChildExitObserved}");
}
