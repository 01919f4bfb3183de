namespace Yakiros.VmFixtures;

/// <summary>Finds the host programs the harness needs and says how to install the missing ones.</summary>
public static class HostTools
{
    /// <summary>A host program, the Debian package that provides it, and what it is for.</summary>
    public sealed record Tool(string Command, string DebianPackage, string Purpose);

    public static readonly Tool Qemu = new("qemu-system-x86_64", "qemu-system-x86", "runs the guest");
    public static readonly Tool QemuImg = new("qemu-img", "qemu-utils", "creates the copy-on-write overlay");

    /// <summary>What building the image needs (beyond a POSIX shell).</summary>
    public static readonly IReadOnlyList<Tool> ImageBuild =
    [
        new("mmdebstrap", "mmdebstrap", "builds the guest root filesystem from Debian packages"),
        new("mkfs.ext4", "e2fsprogs", "makes the root disk without loop mounts"),
        new("modprobe", "kmod", "resolves the kernel modules for the initramfs"),
        new("cpio", "cpio", "packs the initramfs"),
        new("zstd", "zstd", "compresses the cached root filesystem"),
        new("lz4", "lz4", "unpacks the guest kernel"),
        new("ssh-keygen", "openssh-client", "makes the per-image SSH keys"),
        QemuImg,
    ];

    /// <summary>Full path of <paramref name="command"/> (a path, or a name on PATH), or null.</summary>
    public static string? Find(string command)
    {
        if (command.Contains('/'))
            return File.Exists(command) ? Path.GetFullPath(command) : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                     .Concat(["/usr/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The missing tools' explanation, or null when all are there.</summary>
    public static string? DescribeMissing(IEnumerable<Tool> tools)
    {
        var missing = tools.Where(t => Find(t.Command) is null).ToList();
        if (missing.Count == 0) return null;
        var packages = string.Join(' ', missing.Select(t => t.DebianPackage).Distinct());
        var what = string.Join("; ", missing.Select(t => $"{t.Command} ({t.Purpose})"));
        return $"Missing host programs: {what}. Install them with: sudo apt-get install -y {packages}";
    }

    /// <summary>The QEMU binary to run, or a <see cref="PrerequisiteMissingException"/> that names the install command.</summary>
    public static string RequireQemu(VmOptions options)
    {
        if (Find(options.QemuBinary) is { } path) return path;
        throw new PrerequisiteMissingException(
            $"QEMU is not installed: '{options.QemuBinary}' was not found on PATH. " +
            $"Install it with: sudo apt-get install -y {Qemu.DebianPackage} {QemuImg.DebianPackage} " +
            "(or point YAKIROS_QEMUBINARY at your qemu-system-x86_64).");
    }

    public static string Require(Tool tool) => Find(tool.Command) ?? throw new PrerequisiteMissingException(DescribeMissing([tool])!);
}
