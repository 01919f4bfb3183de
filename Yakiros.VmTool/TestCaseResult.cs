namespace Yakiros.VmTool;

/// <summary>How one test ended, as the run summary counts it.</summary>
internal enum TestOutcome
{
    Passed,
    Failed,

    /// <summary>A skip whose reason starts with "KNOWN DEFECT": the defect reproduced with its recorded signature.</summary>
    KnownDefect,

    /// <summary>Not run (no YakirOS build, no QEMU, ...).</summary>
    Skipped,
}

/// <summary>
/// One test case of a run: outcome, category and properties from the JUnit file, the message from the TRX where
/// JUnit has none (the JUnit logger drops skip reasons). <paramref name="Details"/> is the failure body (message and stack).
/// </summary>
internal sealed record TestCaseResult(
    string Class, string Method, string? Category, string? KnownDefectId, TestOutcome Outcome, string Message, string Details, double Seconds)
{
    /// <summary>The class name without its namespace.</summary>
    public string ShortClass => Class[(Class.LastIndexOf('.') + 1)..];

    /// <summary><c>ShortClass.Method</c>, which is also the name of the test's failure-artifact folder.</summary>
    public string DisplayName => $"{ShortClass}.{Method}";
}
