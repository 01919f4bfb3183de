using System.Text;
using System.Text.RegularExpressions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// Proves that a test left the guest as the clean snapshot has it, so that the next test may skip its restore. The
/// proof is a fingerprint taken in the clean guest and again after the test, plus the resolver's log of the test:
/// <list type="bullet">
/// <item>every `status` row (name, state, pid, restarts) and the whole `caps` reply;</item>
/// <item>every process but kernel threads, the SSH sessions that ran the harness's commands, the harness's own 1-s
/// sleeps and PID 1's shell children (its health and readiness checks), with pid, parent and command line;</item>
/// <item>every file or folder changed since the snapshot in /etc, /root, /var, /tmp, /run, /dev/shm, /usr/local, /opt,
/// /home and /srv (but the test-monitor's status file, which it rewrites every few seconds), the cgroup tree, PID 1's
/// mounts and whether a kexec kernel is loaded;</item>
/// <item>and the kernel log since the test began: only the boot components' passing health checks and "graph
/// stable" lines.</item>
/// </list>
/// Anything else (a new line, process or file) means the next test restores, as always.
/// </summary>
public static partial class CleanStateProof
{
    public const string Stamp = "/run/.yakiros-harness-clean-stamp";

    private const string FingerprintCommand =
        "echo \"kexec_loaded=$(cat /sys/kernel/kexec_loaded 2>/dev/null)\"; " +
        $"echo '# mounts'; {YakirosVmFixture.MountsCommand}; " +
        "echo '# cgroups'; find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort; " +
        $"echo '# changed files'; find /etc /root /var /tmp /run /dev/shm /usr/local /opt /home /srv -xdev -newer {Stamp} 2>/dev/null " +
        "| grep -v '^/run/yakiros-tests/test-monitor' | sort; " +
        "echo '# processes'; ps -eo pid=,ppid=,args=";

    /// <summary>Marks the clean state: files changed after this stamp are changes. Run right before the snapshot is taken.</summary>
    public static Task StampAsync(VirtualMachine vm, CancellationToken cancellationToken) =>
        vm.Shell.SucceedAsync($"touch {Stamp}", cancellationToken: cancellationToken);

    /// <summary>The fingerprint of the guest as it is now.</summary>
    public static async Task<string> FingerprintAsync(VirtualMachine vm, GraphCtl ctl, CancellationToken cancellationToken = default)
    {
        var status = await ctl.StatusAsync(cancellationToken);
        var caps = await ctl.SendAsync("caps", cancellationToken: cancellationToken);
        var guest = (await vm.Shell.SucceedAsync(FingerprintCommand, cancellationToken: cancellationToken)).Stdout;
        const string processes = "# processes\n";
        var split = guest.IndexOf(processes, StringComparison.Ordinal);
        return new StringBuilder()
            .AppendLine("# status").AppendJoin('\n', status.Components.Select(c => $"{c.Name} {c.State} {c.Pid} {c.Restarts}")).AppendLine()
            .AppendLine("# caps").AppendLine(caps.Trim())
            .Append(guest[..split])
            .Append(processes).AppendJoin('\n', LastingProcesses(guest[(split + processes.Length)..]))
            .ToString();
    }

    /// <summary>
    /// Null when <paramref name="after"/> equals <paramref name="clean"/> and every kernel line of the test is routine;
    /// else what differs (the first lines), for the harness log.
    /// </summary>
    public static string? Difference(string clean, string after, string kernelLines, IReadOnlyCollection<string> bootComponents)
    {
        var unexpected = kernelLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(l => !IsRoutine(l, bootComponents));
        if (unexpected is not null) return $"the kernel logged: {unexpected}";
        if (clean == after) return null;
        var (a, b) = (clean.Split('\n'), after.Split('\n'));
        return $"gone: {string.Join(" | ", a.Except(b).Take(3))}; new: {string.Join(" | ", b.Except(a).Take(3))}";
    }

    private static bool IsRoutine(string kernelLine, IReadOnlyCollection<string> bootComponents)
    {
        var line = ResolverLog.Parse(kernelLine);
        if (line.Count == 0) return false;
        var message = line[0].Message;
        if (GraphStable().IsMatch(message)) return true;
        var check = HealthCheck().Match(message);
        return check.Success && bootComponents.Contains(check.Groups["name"].Value);
    }

    /// <summary>pid, parent and command line of every process that is not transient (see the class summary), sorted by pid.</summary>
    private static IEnumerable<string> LastingProcesses(string ps)
    {
        var rows = ps.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => ProcessRow().Match(l)).Where(m => m.Success)
            .Select(m => (Pid: int.Parse(m.Groups["pid"].Value), Parent: int.Parse(m.Groups["ppid"].Value), Args: m.Groups["args"].Value.Trim()))
            .ToDictionary(r => r.Pid);
        bool Transient(int pid)
        {
            for (var seen = 0; rows.TryGetValue(pid, out var row) && seen < 64; pid = row.Parent, seen++)
            {
                if (row.Pid == 2 || row.Parent == 2) return true; // kernel threads
                if (row.Args.StartsWith("sshd: root@", StringComparison.Ordinal)) return true; // a session of the harness
                if (row.Parent == 1 && ShellCheck().IsMatch(row.Args)) return true; // PID 1's health or readiness check
            }
            return false;
        }
        return rows.Values.Where(r => !Transient(r.Pid)).OrderBy(r => r.Pid).Select(r => $"{r.Pid} {r.Parent} {r.Args}");
    }

    [GeneratedRegex(@"^\s*(?<pid>\d+)\s+(?<ppid>\d+)\s+(?<args>.*)$")]
    private static partial Regex ProcessRow();

    [GeneratedRegex(@"^(/bin/)?sh -c ")]
    private static partial Regex ShellCheck();

    [GeneratedRegex(@"^graph stable after \d+ iterations")]
    private static partial Regex GraphStable();

    [GeneratedRegex(@"^(running health check for '(?<name>[^']+)': .*|health check for '(?<name>[^']+)' passed)$")]
    private static partial Regex HealthCheck();
}
