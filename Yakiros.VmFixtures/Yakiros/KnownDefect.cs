using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>
/// Runs the checks that show a known defect, and decides by evidence, never by the text of a failed assertion:
/// <list type="bullet">
/// <item>the checks fail and the evidence (text that YakirOS itself produced: its log, a reply, an observed value)
/// matches the defect's signature → skipped as "KNOWN DEFECT YK-nnn" (not a pass, not red);</item>
/// <item>the checks fail and the evidence does not match → red, with the real failure, the signature that was
/// missed and the evidence that was looked at;</item>
/// <item>the checks pass → red: the defect no longer reproduces, remove the marker.</item>
/// </list>
/// With markers off (YAKIROS_KNOWNDEFECTMARKERS=false) the checks run raw. Put only the checks that show the defect
/// inside; every other check of the test belongs before or after the marker.
/// </summary>
public static class KnownDefect
{
    public const string Prefix = "KNOWN DEFECT";
    private const int EvidenceLinesShown = 15;

    public static async Task ExpectAsync(Defect defect, bool markersOn, Func<Task> checks, Func<Task<string>> evidence)
    {
        if (!markersOn)
        {
            await checks();
            return;
        }
        Exception failure;
        try
        {
            await checks();
            throw new KnownDefectVerdictException($"Known defect {defect.Id} ({defect.Title}) no longer reproduces: the checks it covers passed. " +
                                     $"Remove its KnownDefect marker (evidence was {defect.Evidence}).");
        }
        catch (global::Xunit.SkipException)
        {
            throw;
        }
        catch (KnownDefectVerdictException e) when (e.Message.StartsWith($"Known defect {defect.Id} ", StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception e)
        {
            failure = e;
        }
        var seen = await CollectAsync(evidence);
        var match = defect.Match(seen);
        if (match is not null)
            throw new global::Xunit.SkipException($"{Prefix} {defect.Id}: {defect.Title}. Reproduced: {OneLine(match)} " +
                                          $"Evidence: {defect.Evidence}. Symptom: {defect.Symptom}");
        throw new KnownDefectVerdictException(
            $"Fails without the evidence of known defect {defect.Id} ({defect.Title}): /{defect.Signature}/ is not in {defect.Source}. " +
            $"Actual failure: {Describe(failure)}\n--- {defect.Source}, as looked at (last {EvidenceLinesShown} lines) ---\n{GuestConsole.LastLines(seen, EvidenceLinesShown)}");
    }

    private static async Task<string> CollectAsync(Func<Task<string>> evidence)
    {
        try
        {
            return await evidence();
        }
        catch (Exception e) when (e is VmException or OperationCanceledException or IOException)
        {
            return $"(the evidence could not be collected: {e.Message})";
        }
    }

    private static string Describe(Exception e) => e is AggregateException { InnerException: { } inner } ? Describe(inner) : e.Message;

    private static string OneLine(string text) => Regex.Replace(text.Trim(), @"\s*\n\s*", " | ");
}

/// <summary>A red verdict of a known-defect marker: the defect no longer reproduces, or the checks failed without its evidence.</summary>
public sealed class KnownDefectVerdictException(string message) : Exception(message);
