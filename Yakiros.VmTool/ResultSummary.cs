using System.Xml.Linq;

namespace Yakiros.VmTool;

/// <summary>Prints a one-screen summary of the JUnit files a test run wrote: counts per test class, then every failure and skip with its reason.</summary>
internal static class ResultSummary
{
    /// <summary>How a known-defect outcome starts (a skip whose reason names the defect); see Yakiros.VmTests KnownDefect.</summary>
    private const string KnownDefectPrefix = "KNOWN DEFECT";

    private sealed record Case(string Class, string Name, string Outcome, string Message, double Seconds);

    public static int Run(string resultsDir)
    {
        var files = Directory.Exists(resultsDir) ? Directory.GetFiles(resultsDir, "*.junit.xml", SearchOption.AllDirectories) : [];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"no JUnit results under {resultsDir}");
            return 2;
        }
        var reasons = TrxReasons(resultsDir);
        var cases = files.SelectMany(f => Read(f, reasons)).ToList();
        Console.WriteLine();
        Console.WriteLine($"{"test class",-52} {"pass",5} {"fail",5} {"known",5} {"skip",5} {"time",8}");
        foreach (var group in cases.GroupBy(c => c.Class).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"{Shorten(group.Key, 52),-52} {Count(group, "pass"),5} {Count(group, "fail"),5} {Count(group, "known"),5} {Count(group, "skip"),5} {group.Sum(c => c.Seconds),7:F1}s");
        }
        Console.WriteLine($"{"TOTAL",-52} {Count(cases, "pass"),5} {Count(cases, "fail"),5} {Count(cases, "known"),5} {Count(cases, "skip"),5} {cases.Sum(c => c.Seconds),7:F1}s");
        foreach (var (outcome, title) in new[] { ("fail", "FAILED"), ("known", "KNOWN DEFECTS (reproduced as recorded)"), ("skip", "SKIPPED") })
        {
            var some = cases.Where(c => c.Outcome == outcome).ToList();
            if (some.Count == 0) continue;
            Console.WriteLine();
            Console.WriteLine($"{title}:");
            foreach (var same in some.GroupBy(c => FirstLine(c.Message)))
            {
                if (same.Count() > 3) Console.WriteLine($"  {same.Count()} tests ({string.Join(", ", same.Select(c => c.Class.Split('.').Last()).Distinct())})");
                else foreach (var c in same) Console.WriteLine($"  {Shorten(c.Class, 40)}.{c.Name}");
                Console.WriteLine($"      {same.Key}");
            }
        }
        Console.WriteLine();
        Console.WriteLine($"results: {string.Join(", ", files.Select(f => Path.GetRelativePath(Environment.CurrentDirectory, f)))} (and the .trx beside them)");
        return Count(cases, "fail") == 0 ? 0 : 1;
    }

    /// <summary>The JUnit logger drops skip reasons; the TRX files beside it keep them (test name → message).</summary>
    private static Dictionary<string, string> TrxReasons(string resultsDir)
    {
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var trx in Directory.GetFiles(resultsDir, "*.trx", SearchOption.AllDirectories))
            foreach (var result in XDocument.Load(trx).Descendants(ns + "UnitTestResult"))
                if (result.Descendants(ns + "Message").FirstOrDefault()?.Value is { Length: > 0 } message)
                    reasons[(string?)result.Attribute("testName") ?? ""] = message;
        return reasons;
    }

    private static IEnumerable<Case> Read(string file, IReadOnlyDictionary<string, string> reasons) =>
        XDocument.Load(file).Descendants("testcase").Select(t =>
        {
            var failure = t.Element("failure") ?? t.Element("error");
            var skipped = t.Element("skipped");
            var fullName = $"{(string?)t.Attribute("classname")}.{((string?)t.Attribute("name") ?? "").Split('.').Last()}";
            var message = (string?)failure?.Attribute("message") ?? (string?)skipped?.Attribute("message")
                          ?? (reasons.TryGetValue(fullName, out var reason) ? reason : failure?.Value ?? skipped?.Value ?? "");
            var outcome = failure is not null ? "fail" : skipped is null ? "pass" : message.StartsWith(KnownDefectPrefix, StringComparison.Ordinal) ? "known" : "skip";
            var name = (string?)t.Attribute("name") ?? "?";
            var cls = (string?)t.Attribute("classname") ?? "?";
            if (name.StartsWith(cls + ".", StringComparison.Ordinal)) name = name[(cls.Length + 1)..];
            return new Case(cls, name, outcome, message, double.TryParse((string?)t.Attribute("time"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 0);
        });

    private static int Count(IEnumerable<Case> cases, string outcome) => cases.Count(c => c.Outcome == outcome);

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() is { } line
            ? (line.Length > 200 ? line[..200] + "…" : line)
            : "(no message)";

    private static string Shorten(string text, int max) => text.Length <= max ? text : "…" + text[^(max - 1)..];
}
