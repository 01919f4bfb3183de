namespace Yakiros.VmFixtures;

/// <summary>A file the harness puts into the guest's root before it boots (for example the YakirOS build under test).</summary>
public sealed record PayloadFile(string GuestPath, byte[] Content, UnixFileMode Mode)
{
    public const UnixFileMode Executable = (UnixFileMode)0b111_101_101; // 0755
    public const UnixFileMode Regular = (UnixFileMode)0b110_100_100; // 0644

    public static PayloadFile FromHost(string hostPath, string guestPath, UnixFileMode mode = Executable) =>
        new(guestPath, File.ReadAllBytes(hostPath), mode);
}
