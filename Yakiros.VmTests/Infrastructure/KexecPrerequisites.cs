using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// The guest facts that YakirOS's kexec readiness checks look at (src/kexec.c kexec_check_ready), observed
/// independently of YakirOS, so that its report can be compared with the truth.
/// </summary>
public sealed record KexecPrerequisites(string Kernel, bool Root, string CriuVersion, long CheckpointFreeMiB, bool KexecProgram, bool KexecSupported, long MemAvailableMiB)
{
    /// <summary>Where YakirOS keeps kexec checkpoints; it must exist with at least 2 GiB free.</summary>
    public const string CheckpointDir = "/checkpoint";

    public bool AllMet => Root && CriuVersion.StartsWith('3') && CheckpointFreeMiB >= 2048 && KexecProgram && KexecSupported && MemAvailableMiB >= 512;

    public override string ToString() =>
        $"kernel {Kernel}, root {Root}, criu {CriuVersion}, {CheckpointDir} free {CheckpointFreeMiB} MiB, kexec program {KexecProgram}, " +
        $"kexec in the kernel {KexecSupported}, MemAvailable {MemAvailableMiB} MiB";

    /// <summary>
    /// Makes every prerequisite hold (a 3-GiB tmpfs at /checkpoint: the guest disk is smaller; a dry run writes
    /// nothing there) and returns what the guest then shows. Fails if the guest still lacks one: that is the image's fault.
    /// </summary>
    public static async Task<KexecPrerequisites> MeetAsync(VirtualMachine vm)
    {
        await vm.Shell.SucceedAsync($"mkdir -p {CheckpointDir} && (mountpoint -q {CheckpointDir} || mount -t tmpfs -o size=3g yakiros-tests {CheckpointDir})");
        var facts = (await vm.Shell.SucceedAsync(
            "echo /boot/vmlinuz-$(uname -r); id -u; (criu --version 2>/dev/null | sed -n 's/^Version: *//p'; echo) | head -n 1; " +
            $"df -m --output=avail {CheckpointDir} | tail -n 1; command -v kexec >/dev/null && echo yes || echo no; " +
            "test -e /sys/kernel/kexec_loaded && echo yes || echo no; awk '/MemAvailable/ {print int($2/1024)}' /proc/meminfo")).Stdout.Split('\n');
        var found = new KexecPrerequisites(facts[0].Trim(), facts[1].Trim() == "0", facts[2].Trim(), long.Parse(facts[3].Trim()),
            facts[4].Trim() == "yes", facts[5].Trim() == "yes", long.Parse(facts[6].Trim()));
        if (!found.AllMet) throw new VmException($"The guest cannot meet the kexec prerequisites, so the dry run cannot be judged: {found}");
        return found;
    }
}
