using System.Text;
using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>
/// The user's YakirOS build: a folder with graph-resolver and graphctl. Found from the BuildDir option
/// (YAKIROS_BUILDDIR) or a sibling checkout ../yakiros, and checked on the host (present, x86-64 ELF, a C
/// library the guest has) before it goes into the guest as the run payload.
/// </summary>
public sealed partial record YakirosBuild(string Directory)
{
    public const string ResolverGuestPath = "/sbin/graph-resolver";
    public const string GraphctlGuestPath = "/usr/bin/graphctl";

    /// <summary>The guest's C library (Debian bookworm, see guest-config/rootfs): a dynamic build needing newer symbols cannot run there.</summary>
    public static readonly Version GuestGlibc = new(2, 36);

    public string Resolver => Path.Combine(Directory, "graph-resolver");
    public string Graphctl => Path.Combine(Directory, "graphctl");

    public const string HowToProvide =
        "Point the suite at your YakirOS build: YAKIROS_BUILDDIR=/path/to/yakiros (the folder holding the built graph-resolver and graphctl; " +
        "run `make` there first), or check YakirOS out next to this repository as ../yakiros.";

    /// <summary>The configured or discovered build, or null with the reason why none was found.</summary>
    /// <summary>
    /// Finds the build to test. <c>Named</c> is true when the user asked for one (YAKIROS_BUILDDIR, or a ../yakiros
    /// folder exists): then anything that stops it from being tested is a failure, never a skip.
    /// </summary>
    public static (YakirosBuild? Build, string? Missing, bool Named) Locate(VmOptions options, string suiteRoot)
    {
        if (options.BuildDir is { Length: > 0 } configured)
        {
            var dir = Path.GetFullPath(configured);
            return System.IO.Directory.Exists(dir)
                ? (new YakirosBuild(dir), null, true)
                : (null, $"YAKIROS_BUILDDIR={configured} does not exist, so the YakirOS build you named cannot be tested. {HowToProvide}", true);
        }
        var sibling = Path.GetFullPath(Path.Combine(suiteRoot, "..", "yakiros"));
        if (File.Exists(Path.Combine(sibling, "graph-resolver"))) return (new YakirosBuild(sibling), null, true);
        return System.IO.Directory.Exists(sibling)
            ? (null, $"{sibling} exists but holds no graph-resolver: build YakirOS there (`make`), or point YAKIROS_BUILDDIR at a build. {HowToProvide}", true)
            : (null, $"No YakirOS build configured and none at {sibling}. {HowToProvide}", false);
    }

    /// <summary>Host-side checks; the message of each problem says how to fix it.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        foreach (var file in (string[])[Resolver, Graphctl])
        {
            if (!File.Exists(file)) { problems.Add($"{file} is missing: build YakirOS (`make`) in {Directory}."); continue; }
            var bytes = File.ReadAllBytes(file);
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            { problems.Add($"{file} is not an ELF executable."); continue; }
            if (bytes[4] != 2 || BitConverter.ToUInt16(bytes, 18) != 0x3E)
            { problems.Add($"{file} is not an x86-64 binary (ELF class {bytes[4]}, machine 0x{BitConverter.ToUInt16(bytes, 18):x}); the guest is x86-64."); continue; }
            if (NewestGlibc(bytes) is { } needed && needed > GuestGlibc)
                problems.Add($"{Path.GetFileName(file)} is linked against glibc {needed}, newer than the guest's {GuestGlibc}: " +
                             "build YakirOS statically (`make static`, or CFLAGS/LDFLAGS with -static) so it runs in any guest.");
        }
        return problems;
    }

    /// <summary>The newest GLIBC_x.y symbol version a dynamic binary asks for, or null for a static one.</summary>
    internal static Version? NewestGlibc(byte[] elf)
    {
        var text = Encoding.ASCII.GetString(elf);
        if (!text.Contains("ld-linux-x86-64.so", StringComparison.Ordinal)) return null; // no interpreter: static
        return GlibcVersion().Matches(text).Select(m => Version.Parse(m.Groups[1].Value)).DefaultIfEmpty().Max();
    }

    /// <summary>What identifies this build in reports: the resolver's SHA-256 prefix, size and time.</summary>
    public string Identity()
    {
        using var file = File.OpenRead(Resolver);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file))[..12];
        return $"graph-resolver sha256:{hash} ({new FileInfo(Resolver).Length} bytes, {File.GetLastWriteTimeUtc(Resolver):yyyy-MM-dd HH:mm} UTC)";
    }

    /// <summary>
    /// YakirOS's own unit and integration test programs that its Makefile built in this folder (`make build-tests`):
    /// tests/unit/test_*, tests/integration/test_* and tests/test_framework_test, as paths relative to the folder.
    /// </summary>
    public IReadOnlyList<string> OwnTestPrograms()
    {
        string[] folders = ["tests/unit", "tests/integration", "tests"];
        return folders.Select(f => Path.Combine(Directory, f)).Where(System.IO.Directory.Exists)
            .SelectMany(d => System.IO.Directory.EnumerateFiles(d, "test_*"))
            .Where(f => !Path.HasExtension(f) && IsElf(f))
            .Select(f => Path.GetRelativePath(Directory, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal).ToList();
    }

    private static bool IsElf(string file)
    {
        using var stream = File.OpenRead(file);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic[0] == 0x7f && magic[1] == (byte)'E' && magic[2] == (byte)'L' && magic[3] == (byte)'F';
    }

    public IReadOnlyList<PayloadFile> Payload() =>
    [
        PayloadFile.FromHost(Resolver, ResolverGuestPath),
        PayloadFile.FromHost(Graphctl, GraphctlGuestPath),
    ];

    [GeneratedRegex(@"GLIBC_(2\.\d+(?:\.\d+)?)")]
    private static partial Regex GlibcVersion();
}
