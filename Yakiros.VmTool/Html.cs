using System.Globalization;
using System.Net;

namespace Yakiros.VmTool;

/// <summary>Escaping and number formatting shared by the dashboard and its charts (invariant culture everywhere).</summary>
internal static class Html
{
    public const string NotMeasured = "not measured";

    /// <summary>HTML-escapes text for element content and quoted attributes (&lt; &gt; &amp; " ').</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A relative link to a file: every path segment URL-encoded, then HTML-escaped for the attribute.</summary>
    public static string Href(string relativePath) =>
        E(string.Join('/', relativePath.Split('/').Select(s => s is "." or ".." ? s : Uri.EscapeDataString(s))));

    /// <summary>A number for SVG coordinates.</summary>
    public static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A number for people: thousands separated, at most two decimals, fewer for larger numbers.</summary>
    public static string Num(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0.#", CultureInfo.InvariantCulture),
        _ => value.ToString("0.##", CultureInfo.InvariantCulture),
    };

    public static string Duration(double seconds) => seconds switch
    {
        < 1 => $"{Num(seconds * 1000)} ms",
        < 120 => $"{seconds.ToString("0.0", CultureInfo.InvariantCulture)} s",
        < 7200 => $"{(int)(seconds / 60)} min {(int)(seconds % 60)} s",
        _ => $"{(int)(seconds / 3600)} h {(int)(seconds % 3600 / 60)} min",
    };
}
