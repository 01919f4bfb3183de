namespace Yakiros.VmTests;

/// <summary>
/// The Step-11 categories, one test class each, filtered with `dotnet test --filter Category=Graph`.
/// The YakirOS categories land with the YakirOS guest (issue 3 onwards); the harness itself is proven in
/// Yakiros.VmFixtures.Tests.
/// </summary>
public static class Categories
{
    public const string Basic = "Basic";
    public const string HotSwap = "HotSwap";
    public const string Health = "Health";
    public const string Isolation = "Isolation";
    public const string Graph = "Graph";
    public const string Criu = "CRIU";
    public const string Kexec = "Kexec";
    public const string Performance = "Performance";
    public const string Soak = "Soak";
    public const string YakirosOwnTests = "YakirosOwnTests";
}
