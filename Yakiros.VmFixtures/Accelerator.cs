namespace Yakiros.VmFixtures;

/// <summary>How QEMU executes the guest's CPU.</summary>
public enum Accelerator
{
    /// <summary>Try KVM for real and fall back to TCG when it does not work.</summary>
    Auto,
    /// <summary>KVM only: fail when it does not work.</summary>
    Kvm,
    /// <summary>Software emulation (TCG) only.</summary>
    Tcg,
}
