namespace Yakiros.VmFixtures;

/// <summary>Builds the QEMU argument list: direct kernel boot, user networking on 127.0.0.1, serial to a file, QMP.</summary>
public static class QemuCommandLine
{
    public const string StandInInit = "/usr/lib/yakiros-harness/standin-init";

    /// <summary>
    /// The kernel command line; <paramref name="init"/> is what the pre-init execs as PID 1.
    /// <c>transparent_hugepage=never</c> keeps resident memory a count of the pages a process touched: with Debian's
    /// default (<c>always</c>), the first touch of a 2-MB-aligned stretch of PID 1's 5.6-MB static component table maps a
    /// whole huge page, and its resident memory steps up by 2 MB once, at a moment set by address randomisation and by
    /// the test that happens to touch it. The soak's leak rule would read that as a leak of YakirOS.
    /// </summary>
    public static string KernelAppend(string init, IEnumerable<string>? extra = null) =>
        string.Join(' ', ["console=ttyS0", "quiet", "net.ifnames=0", "panic=-1", "root=/dev/vda", "rw", "printk.devkmsg=on",
            "transparent_hugepage=never", $"yakiros.init={init}", .. extra ?? []]);

    public static IReadOnlyList<string> Build(
        VmOptions options, Accelerator accelerator, GuestImage image, RunDirectory run,
        IReadOnlyList<PortForward> forwards, string init = StandInInit, IEnumerable<string>? kernelArguments = null, string? initramfs = null)
    {
        if (accelerator == Accelerator.Auto)
            throw new ArgumentException("Choose kvm or tcg before building the command line.", nameof(accelerator));
        var hostfwd = string.Concat(forwards.Select(f => $",hostfwd=tcp:127.0.0.1:{f.HostPort}-:{f.GuestPort}"));
        return
        [
            .. AcceleratorArgs(accelerator),
            "-smp", options.Cpus.ToString(),
            "-m", options.MemoryMb.ToString(),
            "-M", "pc",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", $"file:{run.ConsoleLog}",
            "-monitor", "none",
            "-qmp", $"unix:{run.QmpSocket},server=on,wait=off",
            "-kernel", image.Kernel,
            "-initrd", initramfs ?? image.Initramfs,
            "-append", KernelAppend(init, kernelArguments),
            "-drive", $"file={run.Overlay},if=virtio,format=qcow2,cache=unsafe",
            "-netdev", $"user,id=n0,restrict=on{hostfwd}",
            "-device", "virtio-net-pci,netdev=n0,romfile=",
        ];
    }

    public static IReadOnlyList<string> AcceleratorArgs(Accelerator accelerator) => accelerator switch
    {
        Accelerator.Kvm => ["-accel", "kvm", "-cpu", "host"],
        Accelerator.Tcg => ["-accel", "tcg,thread=multi", "-cpu", "max"],
        _ => throw new ArgumentOutOfRangeException(nameof(accelerator), accelerator, "kvm or tcg"),
    };

    /// <summary>Arguments for the copy-on-write overlay over the cached base disk.</summary>
    public static IReadOnlyList<string> OverlayArgs(GuestImage image, RunDirectory run) =>
        ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.RootDisk, run.Overlay];
}
