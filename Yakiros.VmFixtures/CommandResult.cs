namespace Yakiros.VmFixtures;

/// <summary>What one guest command did.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Stdout, string Stderr, TimeSpan Duration)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>A one-paragraph account for failure messages.</summary>
    public string Describe() =>
        $"`{Command}` exited {ExitCode} after {Duration.TotalMilliseconds:F0} ms" +
        (Stdout.Length > 0 ? $"\n--- stdout ---\n{Tail(Stdout)}" : "") +
        (Stderr.Length > 0 ? $"\n--- stderr ---\n{Tail(Stderr)}" : "");

    private static string Tail(string text, int max = 2000) =>
        text.Length <= max ? text.TrimEnd() : "…" + text[^max..].TrimEnd();
}
