namespace Yakiros.VmTool;

/// <summary>
/// Maps the xUnit Category trait to the key of <c>test_results</c> in summary.json: the Step-11 categories get the
/// Step-11 keys (basic_validation, hot_swap, ...), every other category keeps its name in lower case (harness, unit, soak).
/// </summary>
internal static class CategoryKeys
{
    /// <summary>The key of tests without a Category trait.</summary>
    public const string Uncategorized = "uncategorized";

    private static readonly (string Category, string Key, string Title)[] Step11 =
    [
        ("Basic", "basic_validation", "Basic validation"),
        ("HotSwap", "hot_swap", "Hot-swap"),
        ("Health", "health_checks", "Health checks"),
        ("Isolation", "isolation", "Isolation"),
        ("Graph", "graph_analysis", "Graph analysis"),
        ("CRIU", "checkpointing", "Checkpointing (CRIU)"),
        ("Kexec", "kexec", "Kexec"),
        ("Performance", "performance", "Performance"),
    ];

    /// <summary>The Step-11 keys in the Step-11 order.</summary>
    public static IReadOnlyList<string> Step11Keys { get; } = Step11.Select(s => s.Key).ToArray();

    public static string KeyOf(string? category)
    {
        if (string.IsNullOrWhiteSpace(category)) return Uncategorized;
        foreach (var s in Step11)
            if (string.Equals(s.Category, category, StringComparison.OrdinalIgnoreCase)) return s.Key;
        return category.Trim().ToLowerInvariant();
    }

    /// <summary>The filter value of a key: <c>dotnet test --filter Category=...</c>.</summary>
    public static string CategoryOf(string key) =>
        Step11.Where(s => s.Key == key).Select(s => s.Category).FirstOrDefault() ?? Capitalized(key);

    public static string TitleOf(string key) =>
        Step11.Where(s => s.Key == key).Select(s => s.Title).FirstOrDefault() ?? Capitalized(key).Replace('_', ' ');

    private static string Capitalized(string key) => key.Length == 0 ? key : char.ToUpperInvariant(key[0]) + key[1..];

    public static bool IsStep11(string key) => Step11Keys.Contains(key);

    /// <summary>Step-11 categories first in their order, then the others by name.</summary>
    public static IOrderedEnumerable<T> InOrder<T>(IEnumerable<T> items, Func<T, string> key) =>
        items.OrderBy(i => IsStep11(key(i)) ? Step11Keys.ToList().IndexOf(key(i)) : int.MaxValue).ThenBy(key, StringComparer.Ordinal);
}
