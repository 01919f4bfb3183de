using System.Text.RegularExpressions;

namespace Yakiros.VmTool;

/// <summary>The parts of a known-defect skip message, as Yakiros.VmTests KnownDefect writes it.</summary>
internal sealed partial record KnownDefectMessage(string Id, string? Title, string? Reproduced, string? Evidence, string? Symptom)
{
    /// <summary>
    /// Parses <c>KNOWN DEFECT YK-nnn: &lt;title&gt;. Reproduced: &lt;first line&gt; Evidence: &lt;file:line ...&gt;. Symptom: &lt;text&gt;</c>.
    /// A message with only the id and a title gives null for the other parts; a message without an id gives null.
    /// </summary>
    public static KnownDefectMessage? Parse(string message)
    {
        if (Full().Match(message) is { Success: true } full)
            return new(full.Groups["id"].Value, full.Groups["title"].Value, full.Groups["reproduced"].Value.Trim(),
                       full.Groups["evidence"].Value, full.Groups["symptom"].Value.Trim());
        if (IdOnly().Match(message) is { Success: true } idOnly)
            return new(idOnly.Groups["id"].Value, idOnly.Groups["rest"].Value.Trim() is { Length: > 0 } rest ? rest : null, null, null, null);
        return null;
    }

    [GeneratedRegex(@"^KNOWN DEFECT (?<id>[A-Za-z]+-\d+):\s*(?<title>.*?)\.\s+Reproduced:\s*(?<reproduced>.*)\sEvidence:\s*(?<evidence>.*?)\.\s+Symptom:\s*(?<symptom>.*)$",
                    RegexOptions.Singleline | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex Full();

    [GeneratedRegex(@"^KNOWN DEFECT (?<id>[A-Za-z]+-\d+):?(?<rest>[^\r\n]*)", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex IdOnly();
}
