using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures;

/// <summary>One alarming line on the guest console.</summary>
public sealed record ConsoleFinding(string Kind, string Line, bool Fatal);

/// <summary>
/// Scans guest console text for "badness", as Fedora CoreOS kola does: a kernel panic is fatal (the guest is gone,
/// every wait ends at once); oopses, BUGs, hung tasks and user segfaults are recorded for the failure report.
/// </summary>
public static partial class ConsoleBadness
{
    private static readonly (string Kind, Regex Pattern, bool Fatal)[] Rules =
    [
        ("kernel panic", PanicPattern(), true),
        ("kernel oops", OopsPattern(), false),
        ("kernel BUG", BugPattern(), false),
        ("general protection fault", GpfPattern(), false),
        ("hung task", HungTaskPattern(), false),
        ("segfault", SegfaultPattern(), false),
        ("out of memory kill", OomPattern(), false),
    ];

    public static IReadOnlyList<ConsoleFinding> Scan(string text)
    {
        var findings = new List<ConsoleFinding>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            foreach (var (kind, pattern, fatal) in Rules)
            {
                if (!pattern.IsMatch(line)) continue;
                findings.Add(new ConsoleFinding(kind, line.Trim(), fatal));
                break;
            }
        }
        return findings;
    }

    [GeneratedRegex(@"Kernel panic - not syncing")]
    private static partial Regex PanicPattern();
    [GeneratedRegex(@"\bOops(: |\s*\[#\d+\])")]
    private static partial Regex OopsPattern();
    [GeneratedRegex(@"\bBUG: ")]
    private static partial Regex BugPattern();
    [GeneratedRegex(@"general protection fault")]
    private static partial Regex GpfPattern();
    [GeneratedRegex(@"INFO: task .* blocked for more than \d+ seconds")]
    private static partial Regex HungTaskPattern();
    [GeneratedRegex(@"\[\d+\]: segfault at ")]
    private static partial Regex SegfaultPattern();
    [GeneratedRegex(@"Out of memory: Killed process|oom-kill:")]
    private static partial Regex OomPattern();
}
