using System.Globalization;
using System.Security;
using System.Text;

namespace Yakiros.VmFixtures.Tests.Unit;

/// <summary>
/// Writes a small results folder in the shape `dotnet test` gives the suite: a JUnit file (classname, ShortClass.Method
/// names, Category/KnownDefect properties, skips without a message) and a TRX beside it with the messages and the run's times.
/// </summary>
internal sealed class SyntheticRunResults
{
    private sealed record Case(string Class, string Method, string? Category, string Outcome, string? Message, double Seconds, string? KnownDefect);

    private readonly List<Case> _cases = [];
    private readonly List<(DateTimeOffset Start, DateTimeOffset Finish)> _trxTimes = [];

    public string Dir { get; }

    public SyntheticRunResults(string root, string name)
    {
        Dir = Path.Combine(root, name);
        Directory.CreateDirectory(Dir);
    }

    public SyntheticRunResults Pass(string category, string cls, string method, double seconds = 1) => Add(new(cls, method, category, "pass", null, seconds, null));

    public SyntheticRunResults Fail(string category, string cls, string method, string message, double seconds = 1) => Add(new(cls, method, category, "fail", message, seconds, null));

    public SyntheticRunResults Skip(string category, string cls, string method, string message, double seconds = 0, string? knownDefect = null) =>
        Add(new(cls, method, category, "skip", message, seconds, knownDefect));

    /// <summary>One TRX file per call, with these &lt;Times start finish&gt;; the first call's file holds the messages.</summary>
    public SyntheticRunResults Times(string start, string finish)
    {
        _trxTimes.Add((DateTimeOffset.Parse(start, CultureInfo.InvariantCulture), DateTimeOffset.Parse(finish, CultureInfo.InvariantCulture)));
        return this;
    }

    public SyntheticRunResults File(string relative, string content)
    {
        var path = Path.Combine(Dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return this;
    }

    private SyntheticRunResults Add(Case c)
    {
        _cases.Add(c);
        return this;
    }

    public string Write()
    {
        var junit = new StringBuilder("<testsuites>\n  <testsuite name=\"Yakiros.VmTests.dll\" tests=\"" + _cases.Count + "\">\n    <properties />\n");
        foreach (var c in _cases)
        {
            var shortClass = c.Class[(c.Class.LastIndexOf('.') + 1)..];
            junit.Append($"    <testcase classname=\"{X(c.Class)}\" name=\"{X(shortClass)}.{X(c.Method)}\" time=\"{c.Seconds.ToString(CultureInfo.InvariantCulture)}\">\n");
            if (c.Outcome == "fail") junit.Append($"      <failure type=\"failure\" message=\"{X(c.Message!)}\">{X(c.Message!)}\nStack Trace:\n   at {X(c.Class)}.{X(c.Method)}()</failure>\n");
            if (c.Outcome == "skip") junit.Append("      <skipped />\n");
            junit.Append("      <properties>\n");
            if (c.KnownDefect is not null) junit.Append($"        <property name=\"KnownDefect\" value=\"{X(c.KnownDefect)}\" />\n");
            if (c.Category is not null) junit.Append($"        <property name=\"Category\" value=\"{X(c.Category)}\" />\n");
            junit.Append("      </properties>\n    </testcase>\n");
        }
        System.IO.File.WriteAllText(Path.Combine(Dir, "Yakiros.VmTests.junit.xml"), junit.Append("  </testsuite>\n</testsuites>\n").ToString());

        var times = _trxTimes.Count > 0 ? _trxTimes : [(DateTimeOffset.Parse("2026-11-26T07:40:32+00:00", CultureInfo.InvariantCulture), DateTimeOffset.Parse("2026-11-26T07:43:57+00:00", CultureInfo.InvariantCulture))];
        for (var i = 0; i < times.Count; i++)
        {
            var trx = new StringBuilder("\uFEFF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<TestRun id=\"1\" name=\"@vm\" xmlns=\"http://microsoft.com/schemas/VisualStudio/TeamTest/2010\">\n")
                .Append($"  <Times creation=\"{times[i].Start:O}\" queuing=\"{times[i].Start:O}\" start=\"{times[i].Start:O}\" finish=\"{times[i].Finish:O}\" />\n  <Results>\n");
            if (i == 0)
                foreach (var c in _cases)
                {
                    var outcome = c.Outcome switch { "pass" => "Passed", "fail" => "Failed", _ => "NotExecuted" };
                    trx.Append($"    <UnitTestResult testName=\"{X(c.Class)}.{X(c.Method)}\" outcome=\"{outcome}\"");
                    trx.Append(c.Message is null ? " />\n" : $">\n      <Output>\n        <ErrorInfo>\n          <Message>{X(c.Message)}</Message>\n        </ErrorInfo>\n      </Output>\n    </UnitTestResult>\n");
                }
            System.IO.File.WriteAllText(Path.Combine(Dir, $"_vm_{i}_net10.0.trx"), trx.Append("  </Results>\n</TestRun>\n").ToString());
        }
        return Dir;
    }

    private static string X(string text) => SecurityElement.Escape(text);
}
