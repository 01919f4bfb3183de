using System.Globalization;
using System.Text;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// Small shell services for the init-duty tests. Each records what it did in its own folder
/// (/run/yakiros-tests/probes/&lt;name&gt;/events: "start &lt;epoch.ns&gt; &lt;pid&gt;", "ready ...", ...), so a test proves
/// order and timing with the services' own timestamps, not with the final state.
/// </summary>
public static class ProbeServices
{
    public const string Root = "/run/yakiros-tests/probes";

    public static string Dir(string name) => $"{Root}/{name}";

    /// <summary>One probe: its component TOML and the script it runs.</summary>
    public sealed record Probe(string Name, string Toml, string Script);

    /// <summary>
    /// A service that logs its start, runs <paramref name="body"/> (shell lines; may use $DIR), then sleeps for ever.
    /// <paramref name="lifecycle"/> lines go under [lifecycle]; <paramref name="type"/> "oneshot" ends after the body.
    /// </summary>
    public static Probe Service(string name, string? provides, IEnumerable<string> requires, string body = "", string? lifecycle = null,
        string type = "service", bool ignoreSigterm = false, string? resources = null)
    {
        // A probe that ignores SIGTERM does so before it logs its start: once "start" is in its events, SIGTERM is ignored.
        var script = new StringBuilder(ignoreSigterm ? "trap '' TERM\n" : "");
        script.Append($"DIR={Dir(name)}\nmkdir -p $DIR\necho \"start $(date +%s.%N) $$\" >> $DIR/events\n");
        script.Append(body).Append('\n');
        if (type == "service") script.Append("exec busybox sleep infinity\n");
        var toml = new StringBuilder($"""
            [component]
            name = "{name}"
            binary = "/bin/sh"
            args = ["{Dir(name)}.sh"]
            type = "{type}"

            """);
        if (provides is not null) toml.Append($"[provides]\ncapabilities = [\"{provides}\"]\n");
        toml.Append($"[requires]\ncapabilities = [{string.Join(", ", requires.Select(r => $"\"{r}\""))}]\n");
        if (lifecycle is not null) toml.Append("[lifecycle]\n").Append(lifecycle.Trim()).Append('\n');
        if (resources is not null) toml.Append("[resources]\n").Append(resources.Trim()).Append('\n');
        return new Probe(name, toml.ToString(), script.ToString());
    }

    /// <summary>
    /// A service whose only job is to make the resolver run its main loop every second: a passing health check
    /// each second means a child exit (SIGCHLD) and a graph resolution each second, so rules that YakirOS
    /// evaluates only on events (the 5-s restart delay, the back-off) are evaluated on time.
    /// </summary>
    public static Probe Ticker() =>
        Service("probe-ticker", "probe.ticker", ["kernel.memory"], lifecycle: "health_check = \"true\"\nhealth_interval = 1");

    /// <summary>
    /// Installs the probes' scripts, then their TOMLs atomically (<see cref="GeneratedComponents"/>), one file per
    /// reload and in the order given, each loaded before the next: a YakirOS reload re-parses every component and
    /// resets its restart, readiness and health timers (and publishes a running oneshot's capabilities), so the
    /// component under test goes last and no reload follows it.
    /// </summary>
    public static async Task InstallAsync(VirtualMachine vm, params Probe[] probes)
    {
        await vm.Shell.UploadFilesAsync(Root, probes.Select(p => ($"{p.Name}.sh", p.Script)));
        var ctl = GraphCtl.For(vm);
        foreach (var probe in probes)
        {
            await GeneratedComponents.InstallAsync(vm, [(probe.Name, probe.Toml)]);
            await ctl.WaitForStatusAsync(s => s.Find(probe.Name) is not null, TimeSpan.FromSeconds(30), $"the resolver loading {probe.Name}");
        }
    }

    /// <summary>
    /// Creates the flag file <paramref name="path"/> in a probe's folder (a release, a switch its checks read). The
    /// folder is made too: a component is ACTIVE (or READY_WAIT) as soon as its process runs, maybe before its script has made it.
    /// </summary>
    public static Task TouchAsync(VirtualMachine vm, string path) =>
        vm.Shell.SucceedAsync($"mkdir -p {ShellQuote.Quote(Path.GetDirectoryName(path)!)} && touch {ShellQuote.Quote(path)}");

    /// <summary>One line of a probe's events file.</summary>
    public sealed record Event(string Kind, double At, int Pid);

    /// <summary>The probe's events, oldest first (empty when it never ran).</summary>
    public static async Task<IReadOnlyList<Event>> EventsAsync(VirtualMachine vm, string name)
    {
        var text = (await vm.Shell.RunAsync($"busybox cat {Dir(name)}/events 2>/dev/null")).Stdout; // static: cheap to start under TCG
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .Where(f => f.Length >= 3)
            .Select(f => new Event(f[0], double.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>Waits until the probe has logged <paramref name="starts"/> starts (a pid is in the status before its shell has written a line).</summary>
    public static Task<IReadOnlyList<Event>> WaitForStartsAsync(VirtualMachine vm, string name, int starts, TimeSpan timeout, int? pid = null) =>
        WaitForEventsAsync(vm, name, "start", starts, timeout, pid);

    /// <summary>
    /// Waits until the probe has logged <paramref name="count"/> events of <paramref name="kind"/>; on the deadline says
    /// how many it had and, given <paramref name="pid"/>, what that process was doing.
    /// </summary>
    public static async Task<IReadOnlyList<Event>> WaitForEventsAsync(VirtualMachine vm, string name, string kind, int count, TimeSpan timeout, int? pid = null)
    {
        IReadOnlyList<Event> events = [];
        if (await Deadline.UntilAsync(async _ => (events = await EventsAsync(vm, name)).Count(e => e.Kind == kind) >= count, timeout, TimeSpan.FromMilliseconds(200)))
            return events;
        var seen = pid is null ? "" : await vm.Shell.DescribeProcessAsync(pid.Value);
        throw new GuestTimeoutException($"{name} logged {events.Count(e => e.Kind == kind)} of {count} {kind} lines within {timeout.TotalSeconds:0} s" +
                                        (pid is null ? "" : $"; pid {pid}: {(seen.Length > 0 ? seen : "gone")}") +
                                        $"; its events: {string.Join(", ", events)}");
    }

    /// <summary>Whether <paramref name="pid"/> is a live process (not gone, not a zombie), and its parent.</summary>
    public static async Task<(bool Alive, string State, int ParentPid)> ProcessAsync(VirtualMachine vm, int pid)
    {
        var status = (await vm.Shell.RunAsync($"busybox grep -E '^(State|PPid):' /proc/{pid}/status 2>/dev/null")).Stdout;
        if (status.Length == 0) return (false, "gone", 0);
        var state = status.Split('\n').First(l => l.StartsWith("State:", StringComparison.Ordinal))["State:".Length..].Trim();
        var parent = int.Parse(status.Split('\n').First(l => l.StartsWith("PPid:", StringComparison.Ordinal))["PPid:".Length..].Trim(), CultureInfo.InvariantCulture);
        return (!state.StartsWith('Z'), state, parent);
    }
}
