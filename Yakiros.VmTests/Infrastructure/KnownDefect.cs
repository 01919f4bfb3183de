using System.Text.RegularExpressions;
using Xunit.Sdk;
using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// Runs a test body that is expected to hit a known defect. Outcomes:
/// fails with the defect's signature → skipped as "KNOWN DEFECT YK-nnn" (not a pass, not red);
/// passes → red: the defect no longer reproduces, remove the marker;
/// fails otherwise → red, with the real failure and the signature it did not match.
/// YAKIROS_KNOWNDEFECTMARKERS=false runs the body raw.
/// </summary>
public static class KnownDefect
{
    public const string Prefix = "KNOWN DEFECT";

    public static async Task ExpectAsync(Defect defect, VmOptions options, Func<Task> body)
    {
        if (!options.KnownDefectMarkers)
        {
            await body();
            return;
        }
        try
        {
            await body();
        }
        catch (Xunit.SkipException)
        {
            throw;
        }
        catch (Exception e) when (Regex.IsMatch(Describe(e), defect.Signature, RegexOptions.IgnoreCase))
        {
            throw new Xunit.SkipException($"{Prefix} {defect.Id}: {defect.Title}. Reproduced: {FirstLine(Describe(e))} " +
                                    $"Evidence: {defect.Evidence}. Symptom: {defect.Symptom}");
        }
        catch (Exception e)
        {
            throw new XunitException($"Fails differently from known defect {defect.Id} ({defect.Title}; signature /{defect.Signature}/ not found). " +
                                     $"Actual failure: {Describe(e)}");
        }
        throw new XunitException($"Known defect {defect.Id} ({defect.Title}) no longer reproduces: the test passed. " +
                                 $"Remove its KnownDefect marker (evidence was {defect.Evidence}).");
    }

    private static string Describe(Exception e) => e is AggregateException { InnerException: { } inner } ? Describe(inner) : e.Message;

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";
}
