namespace Yakiros.VmFixtures;

/// <summary>The per-run folder: overlay disk, console log, QEMU log, QMP socket. Removed when the VM is disposed cleanly.</summary>
public sealed record RunDirectory(string Path)
{
    public string Overlay => System.IO.Path.Combine(Path, "overlay.qcow2");
    public string ConsoleLog => System.IO.Path.Combine(Path, "console.log");
    public string QemuLog => System.IO.Path.Combine(Path, "qemu.log");
    public string QmpSocket => System.IO.Path.Combine(Path, "qmp.sock");
    /// <summary>The image's initramfs with this run's payload appended (only when there is a payload).</summary>
    public string Initramfs => System.IO.Path.Combine(Path, "initramfs.cpio");
    public string QemuPidFile => System.IO.Path.Combine(Path, "qemu.pid");
    /// <summary>When this file exists, the guard leaves QEMU running after the test host exits.</summary>
    public string KeepMarker => System.IO.Path.Combine(Path, "keep");

    /// <summary>
    /// Makes a fresh run folder and removes the folders of runs whose test host is gone. The owner's pid is part of the
    /// folder's name (<c>run-PID-…</c>), so a folder has its owner from the moment it exists: two test hosts starting
    /// side by side (two assemblies, an IDE and a terminal) never take each other's new folder for an abandoned one.
    /// </summary>
    public static RunDirectory Create(string root)
    {
        Directory.CreateDirectory(root);
        RemoveAbandoned(root);
        var run = new RunDirectory(System.IO.Path.Combine(root, $"run-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]));
        Directory.CreateDirectory(run.Path);
        return run;
    }

    /// <summary>The pid of the test host that made the folder <paramref name="path"/>, from its name; null for another name.</summary>
    public static int? OwnerOf(string path) =>
        System.IO.Path.GetFileName(path).Split('-') is ["run", var pid, ..] && int.TryParse(pid, out var owner) ? owner : null;

    private static void RemoveAbandoned(string root)
    {
        foreach (var dir in Directory.GetDirectories(root, "run-*"))
        {
            var run = new RunDirectory(dir);
            if (File.Exists(run.KeepMarker)) continue;
            if (OwnerOf(dir) is { } pid && Directory.Exists($"/proc/{pid}")) continue;
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public void Delete()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
