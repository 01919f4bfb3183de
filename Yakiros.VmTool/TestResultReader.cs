using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Yakiros.VmTool;

/// <summary>Reads the JUnit files of a run (outcome, Category and KnownDefect properties) and the TRX files beside them (messages, start and finish).</summary>
internal static class TestResultReader
{
    /// <summary>How a known-defect outcome starts (a skip whose reason names the defect); see Yakiros.VmTests KnownDefect.</summary>
    public const string KnownDefectPrefix = "KNOWN DEFECT";

    private static readonly XNamespace Trx = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";

    public static TestRunResults Read(string resultsDir)
    {
        var junitFiles = Find(resultsDir, "*.junit.xml");
        var trxFiles = Find(resultsDir, "*.trx");
        var warnings = new List<string>();
        var messages = new Dictionary<string, string>(StringComparer.Ordinal);
        DateTimeOffset? start = null, finish = null;
        foreach (var trx in trxFiles)
        {
            if (Load(trx, warnings) is not { Root: { } root }) continue;
            var times = root.Element(Trx + "Times");
            if (Date(times?.Attribute("start")) is { } s && (start is null || s < start)) start = s;
            if (Date(times?.Attribute("finish")) is { } f && (finish is null || f > finish)) finish = f;
            foreach (var result in root.Descendants(Trx + "UnitTestResult"))
                if (result.Descendants(Trx + "Message").FirstOrDefault()?.Value is { Length: > 0 } message)
                    messages[(string?)result.Attribute("testName") ?? ""] = message;
        }
        var cases = junitFiles.SelectMany(f => Load(f, warnings) is { } doc ? ReadJUnit(doc, messages) : []).ToList();
        return new TestRunResults(cases, junitFiles, trxFiles, start, finish, warnings);
    }

    private static string[] Find(string dir, string pattern) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [];

    private static XDocument? Load(string file, List<string> warnings)
    {
        try
        {
            return XDocument.Load(file);
        }
        catch (XmlException e)
        {
            warnings.Add($"{Path.GetFileName(file)}: not readable XML ({e.Message})");
            return null;
        }
    }

    private static DateTimeOffset? Date(XAttribute? attribute) =>
        DateTimeOffset.TryParse((string?)attribute, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value.ToUniversalTime() : null;

    private static IEnumerable<TestCaseResult> ReadJUnit(XDocument doc, IReadOnlyDictionary<string, string> trxMessages) =>
        doc.Descendants("testcase").Select(t =>
        {
            var cls = (string?)t.Attribute("classname") ?? "?";
            var method = MethodName(cls, (string?)t.Attribute("name") ?? "?");
            var failure = t.Element("failure") ?? t.Element("error");
            var skipped = t.Element("skipped");
            var message = (string?)failure?.Attribute("message") ?? (string?)skipped?.Attribute("message")
                          ?? (trxMessages.TryGetValue($"{cls}.{method}", out var m) ? m : failure?.Value ?? skipped?.Value ?? "");
            var outcome = failure is not null ? TestOutcome.Failed
                : skipped is null ? TestOutcome.Passed
                : message.StartsWith(KnownDefectPrefix, StringComparison.Ordinal) ? TestOutcome.KnownDefect
                : TestOutcome.Skipped;
            var seconds = double.TryParse((string?)t.Attribute("time"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 0;
            return new TestCaseResult(cls, method, Property(t, "Category"), Property(t, "KnownDefect"), outcome, message, failure?.Value ?? "", seconds);
        });

    /// <summary>The JUnit logger writes the name as <c>ShortClass.Method</c> (MethodFormat=Class) or with the full class; the TRX uses <c>Class.Method</c>.</summary>
    private static string MethodName(string cls, string name)
    {
        var shortClass = cls[(cls.LastIndexOf('.') + 1)..];
        if (name.StartsWith(cls + ".", StringComparison.Ordinal)) return name[(cls.Length + 1)..];
        if (name.StartsWith(shortClass + ".", StringComparison.Ordinal)) return name[(shortClass.Length + 1)..];
        return name;
    }

    private static string? Property(XElement testcase, string name) =>
        testcase.Element("properties")?.Elements("property").FirstOrDefault(p => (string?)p.Attribute("name") == name)?.Attribute("value")?.Value;
}
