namespace Yakiros.VmTool;

/// <summary>
/// The failure-artifact folders of a results folder: <c>&lt;ShortClass&gt;.&lt;Method&gt;/</c> beside the TRX, holding console-tail.txt,
/// resolver-log.txt, graphctl-status.txt, dmesg.txt and the like. Paths come back relative to the results folder, with '/'.
/// </summary>
internal sealed class ArtifactFolders
{
    /// <summary>Sub-folders that hold inputs of the summary, not artifacts of one test.</summary>
    private static readonly string[] NotArtifacts = ["metrics", "soak"];

    private readonly string _resultsDir;
    private readonly Dictionary<string, string> _folders;
    private readonly HashSet<string> _matched = new(StringComparer.Ordinal);

    public ArtifactFolders(string resultsDir)
    {
        _resultsDir = resultsDir;
        _folders = (Directory.Exists(resultsDir) ? Directory.GetDirectories(resultsDir) : [])
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => !NotArtifacts.Contains(n, StringComparer.OrdinalIgnoreCase) && !n.StartsWith('.') && !n.StartsWith('_'))
            .ToDictionary(n => n, n => n, StringComparer.Ordinal);
    }

    /// <summary>The files of the test's folder, or null when it has none.</summary>
    public IReadOnlyList<string>? For(TestCaseResult test)
    {
        var folder = Candidates(test).FirstOrDefault(_folders.ContainsKey);
        if (folder is null) return null;
        _matched.Add(folder);
        return Files(folder);
    }

    /// <summary>Artifact folders that no test of the run claimed (shown so that nothing written is lost).</summary>
    public IReadOnlyList<string> Unmatched() =>
        _folders.Keys.Where(f => !_matched.Contains(f)).Order(StringComparer.Ordinal).ToArray();

    private IReadOnlyList<string> Files(string folder) =>
        Directory.GetFiles(Path.Combine(_resultsDir, folder), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_resultsDir, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static IEnumerable<string> Candidates(TestCaseResult test)
    {
        yield return test.DisplayName;
        var invalid = Path.GetInvalidFileNameChars();
        yield return new string(test.DisplayName.Select(c => invalid.Contains(c) ? '_' : c).ToArray());
        if (test.Method.IndexOf('(', StringComparison.Ordinal) is > 0 and var paren)
            yield return $"{test.ShortClass}.{test.Method[..paren]}";
    }
}
