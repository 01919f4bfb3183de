namespace Yakiros.VmTool;

/// <summary>What the JUnit and TRX files of one run hold: the test cases, and the run's start and finish from the TRX &lt;Times&gt;.</summary>
internal sealed record TestRunResults(
    IReadOnlyList<TestCaseResult> Cases,
    IReadOnlyList<string> JUnitFiles,
    IReadOnlyList<string> TrxFiles,
    DateTimeOffset? Start,
    DateTimeOffset? Finish,
    IReadOnlyList<string> Warnings);
