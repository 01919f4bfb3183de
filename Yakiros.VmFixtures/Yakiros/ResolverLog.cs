using System.Globalization;
using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>One line of the resolver's log: the kernel's monotonic time of the line (seconds since boot), level and message.</summary>
public sealed record ResolverLogLine(double Time, string Level, string Message)
{
    public override string ToString() => $"[{Time,10:F3}] {Level} {Message}";
}

/// <summary>
/// graph-resolver's own log. It writes `graph-resolver &lt;LEVEL&gt; message` lines to /dev/kmsg (the guest boots with
/// printk.devkmsg=on, so none is dropped), and the kernel stamps each with its monotonic clock. A cursor (the time of
/// the newest kernel line) marks where a test began; <see cref="SinceAsync"/> returns the lines after it.
/// </summary>
public sealed partial class ResolverLog(GuestShell shell)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The kernel time of the newest kernel log line: every later line is newer than this.</summary>
    public async Task<double> CursorAsync(CancellationToken cancellationToken = default)
    {
        var last = await shell.SucceedAsync($"{Dmesg} | busybox tail -n 1", CommandTimeout, cancellationToken);
        return TimeOf(last.Stdout) ?? 0;
    }

    /// <summary>The guest's clock of these lines now: seconds since boot (/proc/uptime), to decide on a log line's time plus a period.</summary>
    public async Task<double> NowAsync(CancellationToken cancellationToken = default)
    {
        var uptime = await shell.SucceedAsync("read -r up _ < /proc/uptime; echo \"$up\"", CommandTimeout, cancellationToken); // shell builtins only
        return double.Parse(uptime.Stdout.Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>The resolver's lines logged after <paramref name="cursor"/> (0: since boot).</summary>
    public async Task<IReadOnlyList<ResolverLogLine>> SinceAsync(double cursor, CancellationToken cancellationToken = default) =>
        Parse(await KernelLinesSinceAsync(cursor, cancellationToken));

    /// <summary>Every kernel log line (dmesg format, the resolver's and the kernel's own) stamped after <paramref name="cursor"/>.</summary>
    public async Task<string> KernelLinesSinceAsync(double cursor, CancellationToken cancellationToken = default) =>
        LinesAfter((await shell.SucceedAsync(Dmesg, CommandTimeout, cancellationToken)).Stdout, cursor);

    /// <summary>
    /// The kernel log in dmesg's format, read by busybox's static dmesg: under TCG a dynamically linked program costs
    /// the guest about 80 ms of CPU to start, and util-linux's dmesg piped into awk cost 220 ms per read of a wait's poll
    /// (busybox: 100 ms). It also stamps each line of a multi-line message, so no line is lost to the filter.
    /// </summary>
    private const string Dmesg = "busybox dmesg";

    /// <summary>The lines of <paramref name="dmesg"/> stamped after <paramref name="cursor"/>, in their order.</summary>
    public static string LinesAfter(string dmesg, double cursor) =>
        string.Join('\n', dmesg.Split('\n').Where(l => TimeOf(l) > cursor));

    /// <summary>The kernel time a dmesg line is stamped with, or null for a line without a stamp.</summary>
    private static double? TimeOf(string line) =>
        Stamp().Match(line) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>The lines after <paramref name="cursor"/> as text, one per line, for evidence and messages.</summary>
    public async Task<string> TextSinceAsync(double cursor, CancellationToken cancellationToken = default) =>
        string.Join('\n', (await SinceAsync(cursor, cancellationToken)).Select(l => l.ToString()));

    /// <summary>
    /// Waits until <paramref name="done"/> holds for the resolver's lines after <paramref name="cursor"/>, following the
    /// kernel log as the resolver writes it: one `cat /dev/kmsg` for the whole wait (the buffer so far, then each new
    /// record as it comes), so the wait ends at the line it waits for, and the guest starts no program per look. The
    /// lines returned end with the one that decided. On the deadline, quotes what it read.
    /// </summary>
    public async Task<IReadOnlyList<ResolverLogLine>> WaitForAsync(double cursor, Func<IReadOnlyList<ResolverLogLine>, bool> done, TimeSpan timeout,
        string what, CancellationToken cancellationToken = default)
    {
        var lines = new List<ResolverLogLine>();
        var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        bool happened;
        try
        {
            happened = await HarnessTimes.WaitAsync(() => shell.FollowAsync($"exec busybox timeout {seconds} busybox cat /dev/kmsg", record =>
            {
                var count = lines.Count;
                lines.AddRange(Parse(LinesAfter(DmesgLines(record), cursor)));
                return lines.Count > count && done(lines);
            }, timeout + CommandTimeout, cancellationToken));
        }
        catch (GuestTimeoutException)
        {
            happened = false;
        }
        return happened ? lines : throw new GuestTimeoutException($"{what} did not happen within {timeout.TotalSeconds:0} s. The resolver logged since the start:\n" +
                                                                  GuestConsole.LastLines(string.Join('\n', lines), 40));
    }

    /// <summary>
    /// One record of /dev/kmsg ("PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;message", where the kernel wrote every byte outside
    /// printable ASCII, and the backslash, as \xHH) as dmesg's lines: "[seconds.micros] text", one per line of the message.
    /// The lines after a record that start with a space (KEY=value) belong to it and give nothing.
    /// </summary>
    public static string DmesgLines(string record)
    {
        var semicolon = record.IndexOf(';');
        if (record.StartsWith(' ') || semicolon < 0) return "";
        var fields = record[..semicolon].Split(',');
        if (fields.Length < 3 || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var micros)) return "";
        var stamp = $"[{micros / 1_000_000,5}.{micros % 1_000_000:D6}] ";
        var text = Escaped().Replace(record[(semicolon + 1)..], m => ((char)Convert.ToByte(m.Groups[1].Value, 16)).ToString());
        var message = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.Latin1.GetBytes(text));
        return string.Join('\n', message.Split('\n').Select(line => stamp + line));
    }

    /// <summary>Parses dmesg lines "[  12.345678] [SSSSS.mmm] graph-resolver &lt;LEVEL&gt; message".</summary>
    public static IReadOnlyList<ResolverLogLine> Parse(string dmesg) =>
        dmesg.Split('\n').Select(l => Line().Match(l)).Where(m => m.Success)
            .Select(m => new ResolverLogLine(double.Parse(m.Groups["t"].Value, CultureInfo.InvariantCulture), m.Groups["level"].Value, m.Groups["msg"].Value.TrimEnd()))
            .ToList();

    [GeneratedRegex(@"\\x([0-9a-f]{2})")]
    private static partial Regex Escaped();

    [GeneratedRegex(@"^\[\s*(\d+\.\d+)\]")]
    private static partial Regex Stamp();

    [GeneratedRegex(@"^\[\s*(?<t>\d+\.\d+)\]\s.*?graph-resolver <(?<level>[A-Z]+)> (?<msg>.*)$")]
    private static partial Regex Line();
}
