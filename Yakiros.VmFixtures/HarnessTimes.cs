using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Yakiros.VmFixtures;

/// <summary>Where a test process's harness time went: how many of each and their seconds in all (over every guest of the process).</summary>
public sealed record HarnessTime(string Kind, int Count, double Seconds);

/// <summary>
/// Counts the harness's own time in a test process: boots (QEMU start to a guest ready for tests), starts of a guest
/// from the first one's clean template (<see cref="GuestTemplate"/>), restores of the
/// clean snapshot, restores skipped because the guest was proved unchanged, and waits (the outermost bounded wait
/// of a test; waits nested in it are not counted twice). Each fixture writes the process's totals to
/// &lt;results&gt;/harness-times/&lt;assembly&gt;.json when it ends; the run summary adds them up.
/// </summary>
public static class HarnessTimes
{
    public const string Boot = "boot", FromTemplate = "start from template", Restore = "restore", RestoreSkipped = "restore skipped", Wait = "wait";
    public const string Folder = "harness-times";

    private static readonly ConcurrentDictionary<string, (int Count, double Seconds)> Totals = new();
    private static readonly AsyncLocal<bool> InWait = new();

    public static void Add(string kind, TimeSpan elapsed) =>
        Totals.AddOrUpdate(kind, (1, elapsed.TotalSeconds), (_, t) => (t.Count + 1, t.Seconds + elapsed.TotalSeconds));

    /// <summary>Runs <paramref name="wait"/> and counts its time as a wait, unless it runs inside another counted wait.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> wait)
    {
        if (InWait.Value) return await wait();
        InWait.Value = true; // flows into the wait only: the caller's value is restored when this method returns
        var clock = Stopwatch.StartNew();
        try
        {
            return await wait();
        }
        finally
        {
            Add(Wait, clock.Elapsed);
        }
    }

    public static IReadOnlyList<HarnessTime> Snapshot() =>
        Totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new HarnessTime(t.Key, t.Value.Count, Math.Round(t.Value.Seconds, 1))).ToList();

    /// <summary>Writes the totals so far to &lt;resultsDir&gt;/harness-times/&lt;name&gt;.json (a later call overwrites with the larger totals).</summary>
    public static void Write(string resultsDir, string name)
    {
        var folder = Path.Combine(resultsDir, Folder);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, $"{name}.json"),
            JsonSerializer.Serialize(Snapshot(), new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
    }
}
