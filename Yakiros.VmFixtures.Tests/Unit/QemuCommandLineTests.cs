namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class QemuCommandLineTests
{
    private static readonly GuestImage Image = new("/cache/images/abc", "abc");
    private static readonly RunDirectory Run = new("/tmp/run-1");
    private static readonly VmOptions Options = new() { MemoryMb = 1536, Cpus = 2 };

    private static IReadOnlyList<string> Build(Accelerator accelerator = Accelerator.Tcg, params PortForward[] forwards) =>
        QemuCommandLine.Build(Options, accelerator, Image, Run, forwards.Length > 0 ? forwards : [new PortForward(22, 40022)]);

    private static string ValueAfter(IReadOnlyList<string> args, string flag) => args[args.ToList().IndexOf(flag) + 1];

    [Fact]
    public void Boots_the_kernel_directly_with_the_image_initramfs()
    {
        var args = Build();

        ValueAfter(args, "-kernel").Should().Be("/cache/images/abc/vmlinux");
        ValueAfter(args, "-initrd").Should().Be("/cache/images/abc/initramfs.cpio");
        args.Should().NotContain(a => a.Contains("root.qcow2"), "the cached base disk must never be opened writable");
    }

    [Fact]
    public void Writes_only_to_the_per_run_overlay()
    {
        ValueAfter(Build(), "-drive").Should().StartWith("file=/tmp/run-1/overlay.qcow2,").And.Contain("format=qcow2");
        QemuCommandLine.OverlayArgs(Image, Run).Should().Equal("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "/cache/images/abc/root.qcow2", "/tmp/run-1/overlay.qcow2");
    }

    [Fact]
    public void Kernel_command_line_carries_devkmsg_panic_exit_and_the_init()
    {
        var append = ValueAfter(QemuCommandLine.Build(Options, Accelerator.Tcg, Image, Run, [], "/sbin/graph-resolver"), "-append");

        append.Split(' ').Should().Contain(["console=ttyS0", "printk.devkmsg=on", "transparent_hugepage=never", "panic=-1", "yakiros.init=/sbin/graph-resolver"]);
        Build().Should().Contain("-no-reboot", "a panic must end QEMU, not reboot the guest");
    }

    [Fact]
    public void Console_goes_to_the_run_log_and_qmp_to_the_run_socket()
    {
        var args = Build();

        ValueAfter(args, "-serial").Should().Be("file:/tmp/run-1/console.log");
        ValueAfter(args, "-qmp").Should().Be("unix:/tmp/run-1/qmp.sock,server=on,wait=off");
    }

    [Fact]
    public void Forwards_every_port_on_loopback_only_and_keeps_the_guest_off_the_network()
    {
        var netdev = ValueAfter(Build(Accelerator.Tcg, new PortForward(22, 40022), new PortForward(7000, 40070)), "-netdev");

        netdev.Should().Be("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40070-:7000");
    }

    [Fact]
    public void Accelerator_selects_cpu_model()
    {
        var tcg = Build(Accelerator.Tcg);
        var kvm = Build(Accelerator.Kvm);

        ValueAfter(tcg, "-accel").Should().Be("tcg,thread=multi");
        ValueAfter(tcg, "-cpu").Should().Be("max");
        ValueAfter(kvm, "-accel").Should().Be("kvm");
        ValueAfter(kvm, "-cpu").Should().Be("host");
        ValueAfter(tcg, "-m").Should().Be("1536");
        ValueAfter(tcg, "-smp").Should().Be("2");
    }

    [Fact]
    public void Auto_must_be_resolved_before_building()
    {
        var act = () => Build(Accelerator.Auto);

        act.Should().Throw<ArgumentException>();
    }
}
