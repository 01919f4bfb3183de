using System.Text.Encodings.Web;
using System.Text.Json;

namespace Yakiros.VmTool;

/// <summary>The JSON conventions of summary.json, run-info.json and the metric files: snake_case names, readable text.</summary>
internal static class SummaryJson
{
    public const string FileName = "summary.json";

    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString,
    };

    public static string Serialize(RunSummary summary) => JsonSerializer.Serialize(summary, Options);

    /// <summary>Reads an input file written by the tests; a missing file is null, a broken one is null plus a warning.</summary>
    public static T? ReadInput<T>(string path, string shownAs, List<string> warnings) where T : class
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            warnings.Add($"{shownAs}: ignored, not readable ({e.Message})");
            return null;
        }
    }
}
