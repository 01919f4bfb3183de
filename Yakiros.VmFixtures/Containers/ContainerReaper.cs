using Docker.DotNet;
using Docker.DotNet.Models;

namespace Yakiros.VmFixtures.Containers;

/// <summary>
/// No container outlives its test host, without Ryuk. Every container the harness starts carries labels naming its
/// owner (pid, the pid's start time, this machine's boot id), and its first process is <see cref="WatcherScript"/>:
/// it watches a heartbeat file that this process touches every second from a thread of its own, and ends the
/// container (QEMU with it) once the heartbeat is <see cref="StaleSeconds"/> old: the test host returned, crashed or
/// was SIGKILLed. <see cref="SweepAsync"/> removes, at the next start, any labelled container whose owner is gone
/// (say the engine was paused while its owner died).
/// </summary>
public static class ContainerReaper
{
    public const string Label = "yakiros.vmhost";
    public const string OwnerLabel = "yakiros.vmhost.owner";
    public const string OwnerStartLabel = "yakiros.vmhost.owner-start";
    public const string MachineLabel = "yakiros.vmhost.machine";
    public const int StaleSeconds = 10;

    // $1 = heartbeat file, $2 = keep marker, $3 = seconds without a heartbeat after which the owner is gone,
    // $4 = the owner's pid, $5 = its start time (field 22 of /proc/PID/stat), $6 = the host's boot id.
    // Where the container shares the host's kernel and pid namespace (the same boot id, the harness asks for
    // --pid=host), the owner's death is seen within a second; the heartbeat covers every other engine.
    public const string WatcherScript = """
        hb=$1; keep=$2; stale=$3; owner=$4; owner_start=$5; boot=$6
        trap 'exit 0' TERM INT
        same_kernel=0
        [ "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" = "$boot" ] && [ -n "$owner_start" ] && same_kernel=1
        echo "yakiros-vmhost: up, watching owner pid $owner (same kernel: $same_kernel) and the heartbeat $hb"
        while :; do
          if [ ! -e "$keep" ]; then
            if [ "$same_kernel" = 1 ]; then
              now_start=$(sed 's/.*) //' "/proc/$owner/stat" 2>/dev/null | cut -d' ' -f20)
              if [ "$now_start" != "$owner_start" ]; then
                echo "yakiros-vmhost: the test host (pid $owner) is gone, so this container ends"
                exit 0
              fi
            fi
            age=$(( $(date +%s) - $(stat -c %Y "$hb" 2>/dev/null || echo 0) ))
            if [ "$age" -ge "$stale" ]; then
              echo "yakiros-vmhost: the heartbeat $hb is $age s old: the test host is gone, so this container ends"
              exit 0
            fi
          fi
          sleep 1
        done
        """;

    /// <summary>The watcher's arguments after the script: heartbeat, keep marker, staleness, owner pid, its start, boot id.</summary>
    public static IReadOnlyList<string> WatcherArguments(string heartbeat, string keepMarker) =>
        [heartbeat, keepMarker, StaleSeconds.ToString(), Environment.ProcessId.ToString(), ProcessStartTicks(Environment.ProcessId) ?? "", MachineId];

    private static readonly Lock Gate = new();
    private static Thread? _beater;
    private static string? _heartbeat;

    /// <summary>This process's heartbeat file under <paramref name="runsDir"/>, touched every second from now on.</summary>
    public static string StartHeartbeat(string runsDir)
    {
        lock (Gate)
        {
            if (_heartbeat is not null) return _heartbeat;
            Directory.CreateDirectory(runsDir);
            var file = Path.Combine(runsDir, $"heartbeat-{Environment.ProcessId}");
            File.WriteAllText(file, $"{Environment.ProcessId}\n");
            _beater = new Thread(() => Beat(file)) { IsBackground = true, Name = "yakiros-vmhost-heartbeat" };
            _beater.Start();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { File.Delete(file); } catch (IOException) { } };
            _heartbeat = file;
            return file;
        }
    }

    private static void Beat(string file)
    {
        while (true)
        {
            try { File.SetLastWriteTimeUtc(file, DateTime.UtcNow); }
            catch (IOException) { try { File.WriteAllText(file, $"{Environment.ProcessId}\n"); } catch (IOException) { } }
            catch (UnauthorizedAccessException) { }
            Thread.Sleep(1000);
        }
    }

    /// <summary>The labels that tie a container to this process.</summary>
    public static IReadOnlyDictionary<string, string> OwnerLabels() => new Dictionary<string, string>
    {
        [Label] = "1",
        [OwnerLabel] = Environment.ProcessId.ToString(),
        [OwnerStartLabel] = ProcessStartTicks(Environment.ProcessId) ?? "",
        [MachineLabel] = MachineId,
    };

    /// <summary>Removes labelled containers of this machine whose owner process is gone; returns their names.</summary>
    public static async Task<IReadOnlyList<string>> SweepAsync(DockerClient client, string runsDir, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        var containers = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [Label] = true } },
        }, cancellationToken);
        foreach (var container in containers)
        {
            IDictionary<string, string> labels = container.Labels ?? new Dictionary<string, string>();
            if (Get(labels, MachineLabel) != MachineId) continue; // another machine's engine: not ours to judge
            if (OwnerAlive(Get(labels, OwnerLabel), Get(labels, OwnerStartLabel))) continue;
            try
            {
                await client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true }, cancellationToken);
                removed.Add(container.Names.FirstOrDefault()?.TrimStart('/') ?? container.ID[..12]);
            }
            catch (DockerApiException) { } // already going (auto-remove)
        }
        if (Directory.Exists(runsDir))
            foreach (var file in Directory.GetFiles(runsDir, "heartbeat-*"))
                if (int.TryParse(Path.GetFileName(file)["heartbeat-".Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
                    try { File.Delete(file); } catch (IOException) { }
        return removed;
    }

    private static string? Get(IDictionary<string, string> labels, string key) => labels.TryGetValue(key, out var value) ? value : null;

    private static bool OwnerAlive(string? pid, string? start) =>
        int.TryParse(pid, out var p) && ProcessStartTicks(p) is { } now && (string.IsNullOrEmpty(start) || now == start);

    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks since boot): tells a reused pid from its first owner.</summary>
    private static string? ProcessStartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static readonly string MachineId = ReadMachineId();

    private static string ReadMachineId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return Environment.MachineName; }
    }
}
