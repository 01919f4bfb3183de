namespace Yakiros.VmFixtures;

/// <summary>
/// Everything a user can configure about the test VM. Bound from <c>appsettings.json</c> and from
/// environment variables prefixed <c>YAKIROS_</c> (for example <c>YAKIROS_MEMORYMB=2048</c>); see README.
/// </summary>
public sealed class VmOptions
{
    /// <summary>Guest RAM in MiB.</summary>
    public int MemoryMb { get; set; } = 1024;

    /// <summary>Guest virtual CPUs.</summary>
    public int Cpus { get; set; } = 2;

    /// <summary>auto (try KVM, fall back to TCG), kvm or tcg.</summary>
    public Accelerator Accelerator { get; set; } = Accelerator.Auto;

    /// <summary>Where built guest images are cached; defaults to $XDG_CACHE_HOME/yakiros-vmtests or ~/.cache/yakiros-vmtests.</summary>
    public string? CacheDir { get; set; }

    /// <summary>Seconds from QEMU start until the guest's SSH must answer.</summary>
    public int BootTimeoutSeconds { get; set; } = 90;

    /// <summary>Leave the VM running when it fails, and print the ssh command to get in.</summary>
    public bool KeepVmOnFailure { get; set; }

    /// <summary>The folder that holds a built <c>graph-resolver</c> and <c>graphctl</c> (used by the YakirOS categories).</summary>
    public string? BuildDir { get; set; }

    /// <summary>Extra words for `make` when BuildDir is an unbuilt source checkout, e.g. <c>CFLAGS="-O2 -std=c11 -Isrc"</c>.</summary>
    public string MakeArguments { get; set; } = "";

    /// <summary>Report known YakirOS defects as known (skipped with the defect id) rather than as raw failures.</summary>
    public bool KnownDefectMarkers { get; set; } = true;

    /// <summary>Route the harness around known defects that would hide every other result (each one is logged).</summary>
    public bool Workarounds { get; set; } = true;

    /// <summary>The QEMU system emulator to run: a name looked up on PATH, or a path.</summary>
    public string QemuBinary { get; set; } = "qemu-system-x86_64";

    /// <summary>The guest-config folder; found by walking up from the test assembly when empty.</summary>
    public string? GuestConfigDir { get; set; }

    /// <summary>Where per-run state (overlay, console log, QMP socket) lives; defaults to the system temp folder.</summary>
    public string? RunsDir { get; set; }

    /// <summary>Where QEMU runs: auto (the host's QEMU when installed, else a container when a Docker engine answers), host or container.</summary>
    public Containers.VmHostKind VmHost { get; set; } = Containers.VmHostKind.Auto;

    /// <summary>The Debian image the container VM host is built on; where no registry has it, a base is made from the cached rootfs.</summary>
    public string ContainerBaseImage { get; set; } = "debian:bookworm";

    /// <summary>The Step-11 performance targets (Performance:* / YAKIROS_PERFORMANCE__*).</summary>
    public PerformanceTargets Performance { get; set; } = new();

    /// <summary>The soak run (Soak:* / YAKIROS_SOAK__*).</summary>
    public Soak.SoakOptions Soak { get; set; } = new();

    /// <summary>
    /// Where this run's results go (failure artifacts, metrics, run-info.json): run.sh and run.ps1 set it to
    /// TestResults/&lt;run&gt;; unset (an IDE run), TestResults/ide-&lt;time&gt; beside guest-config.
    /// </summary>
    public string? ResultsDir { get; set; }

    public string ResolvedCacheDir => CacheDir is { Length: > 0 } dir
        ? Path.GetFullPath(dir)
        : Path.Combine(
            Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
            "yakiros-vmtests");

    public string ResolvedRunsDir => RunsDir is { Length: > 0 } dir
        ? Path.GetFullPath(dir)
        : Path.Combine(Path.GetTempPath(), $"yakiros-vm-{Environment.UserName}");

    public TimeSpan BootTimeout => TimeSpan.FromSeconds(BootTimeoutSeconds);

    /// <summary>Rejects values no VM can run with, naming the setting and the fix.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (MemoryMb < 256) problems.Add($"MemoryMb={MemoryMb}: the guest needs at least 256 (set YAKIROS_MEMORYMB)");
        if (Cpus is < 1 or > 64) problems.Add($"Cpus={Cpus}: use 1 to 64 (set YAKIROS_CPUS)");
        if (BootTimeoutSeconds < 5) problems.Add($"BootTimeoutSeconds={BootTimeoutSeconds}: use at least 5 (set YAKIROS_BOOTTIMEOUTSECONDS)");
        if (Performance.TcgScale < 1) problems.Add($"Performance:TcgScale={Performance.TcgScale}: use 1 or more (set YAKIROS_PERFORMANCE__TCGSCALE)");
        if (string.IsNullOrWhiteSpace(QemuBinary)) problems.Add("QemuBinary is empty (set YAKIROS_QEMUBINARY)");
        if (string.IsNullOrWhiteSpace(ContainerBaseImage)) problems.Add("ContainerBaseImage is empty (set YAKIROS_CONTAINERBASEIMAGE, e.g. debian:bookworm)");
        if (problems.Count > 0)
            throw new VmConfigurationException("Invalid VM options: " + string.Join("; ", problems));
    }
}
