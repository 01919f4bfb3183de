namespace Yakiros.VmFixtures;

/// <summary>Where and how to reach the guest's sshd: port on 127.0.0.1, the image's client key and pinned host key.</summary>
public sealed record SshEndpoint(int Port, string PrivateKeyPath, string HostPublicKeyLine)
{
    public const string User = "root";

    /// <summary>The raw host key blob (the base64 field of the .pub line) that the guest must present.</summary>
    public byte[] HostKeyBlob => Convert.FromBase64String(HostPublicKeyLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    public static SshEndpoint For(GuestImage image, int port) =>
        new(port, image.ClientPrivateKey, File.ReadAllText(image.HostPublicKey).Trim());

    /// <summary>The command a human runs to get into the guest, with the host key pinned through <paramref name="knownHostsFile"/>.</summary>
    public string HumanCommand(string knownHostsFile) =>
        $"ssh -i {PrivateKeyPath} -p {Port} -o UserKnownHostsFile={knownHostsFile} {User}@127.0.0.1";

    public string KnownHostsLine => $"[127.0.0.1]:{Port} {string.Join(' ', HostPublicKeyLine.Split(' ').Take(2))}";
}
