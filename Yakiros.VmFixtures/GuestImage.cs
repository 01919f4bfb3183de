namespace Yakiros.VmFixtures;

/// <summary>A built guest image in the cache: kernel, initramfs, root disk and its SSH keys. Never written to.</summary>
public sealed record GuestImage(string Directory, string Key)
{
    public string Kernel => Path.Combine(Directory, "vmlinux");
    public string Initramfs => Path.Combine(Directory, "initramfs.cpio");
    public string RootDisk => Path.Combine(Directory, "root.qcow2");
    public string ClientPrivateKey => Path.Combine(Directory, "id_ed25519");
    public string HostPublicKey => Path.Combine(Directory, "ssh_host_ed25519_key.pub");
    public string KernelReleaseFile => Path.Combine(Directory, "kernel-release");

    public IEnumerable<string> RequiredFiles => [Kernel, Initramfs, RootDisk, ClientPrivateKey, HostPublicKey, KernelReleaseFile];

    public bool IsComplete => RequiredFiles.All(File.Exists);

    public string KernelRelease => File.Exists(KernelReleaseFile) ? File.ReadAllText(KernelReleaseFile).Trim() : "unknown";
}
