namespace Yakiros.VmFixtures;

/// <summary>
/// A clean guest saved to start more guests from: a copy of a running guest's disk overlay, which holds the snapshot
/// <see cref="Snapshot"/> (RAM and disk), and the settings that guest ran with. A guest started from it
/// (<see cref="VirtualMachine.StartFromTemplateAsync"/>) is QEMU with <c>-loadvm</c> on its own copy of that overlay:
/// the same clean guest as a restore gives, in about 2 s instead of a boot. <see cref="Facts"/> is what the saving
/// fixture learnt about that guest (its boot report), so that a guest started from the template need not learn it again.
/// </summary>
public sealed record GuestTemplate(RunDirectory Folder, string Snapshot, GuestImage Image, AcceleratorChoice Accelerator, VmStartRequest Request, object? Facts)
{
    /// <summary>The payload initramfs of the saved guest (QEMU needs an -initrd to start; the snapshot's RAM then replaces what it loaded).</summary>
    public string? Initramfs => File.Exists(Folder.Initramfs) ? Folder.Initramfs : null;

    public bool IsComplete => File.Exists(Folder.Overlay);

    public void Delete() => Folder.Delete();
}
