namespace Yakiros.VmFixtures;

/// <summary>What a test needs from a VM: the init to run as PID 1 and the guest TCP ports to forward.</summary>
public sealed record VmStartRequest
{
    /// <summary>The program the pre-init execs as PID 1.</summary>
    public string Init { get; init; } = QemuCommandLine.StandInInit;

    /// <summary>Guest TCP ports to forward to dynamically chosen 127.0.0.1 ports (SSH is always forwarded).</summary>
    public IReadOnlyList<int> GuestPorts { get; init; } = [];

    /// <summary>Files copied into the guest's root before boot (delivered in an initramfs appended for this run).</summary>
    public IReadOnlyList<PayloadFile> Payload { get; init; } = [];

    /// <summary>Extra kernel command-line words, e.g. <c>yakiros.leave-mounts=run,devpts</c>.</summary>
    public IReadOnlyList<string> KernelArguments { get; init; } = [];
}
