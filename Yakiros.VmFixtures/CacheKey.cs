using System.Security.Cryptography;
using System.Text;

namespace Yakiros.VmFixtures;

/// <summary>
/// The cache key of a recipe folder: a SHA-256 over every file's relative path, executable bit and bytes,
/// in ordinal path order, so any change to what goes into the image changes the key and nothing else does.
/// </summary>
public static class CacheKey
{
    /// <summary>Bumped when the harness changes how it uses a cached image.</summary>
    public const string FormatVersion = "1";

    private static readonly string[] IgnoredSuffixes = ["~", ".swp", ".swo", ".orig", ".rej"];

    public static string Compute(string directory, params string[] salts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"format {FormatVersion}\n"));
        foreach (var salt in salts) hash.AppendData(Encoding.UTF8.GetBytes($"salt {salt}\n"));
        foreach (var file in RecipeFiles(directory))
        {
            var relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
            var executable = (File.GetUnixFileMode(file) & UnixFileMode.UserExecute) != 0;
            hash.AppendData(Encoding.UTF8.GetBytes($"file {relative} {(executable ? "x" : "-")} {new FileInfo(file).Length}\n"));
            hash.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..20];
    }

    public static IEnumerable<string> RecipeFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !IgnoredSuffixes.Any(s => f.EndsWith(s, StringComparison.Ordinal)))
            .Where(f => !Path.GetRelativePath(directory, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .OrderBy(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), StringComparer.Ordinal);
}
