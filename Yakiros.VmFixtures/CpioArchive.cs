using System.Text;

namespace Yakiros.VmFixtures;

/// <summary>
/// Writes a "newc" cpio archive, the format the kernel unpacks as an initramfs. Appended to the image's initramfs,
/// it delivers a per-run payload under /payload, which the initramfs copies over the root before boot goes on.
/// </summary>
public static class CpioArchive
{
    public const string PayloadRoot = "payload";

    public static void Write(Stream output, IEnumerable<PayloadFile> files)
    {
        var inode = 1;
        var directories = new SortedSet<string>(StringComparer.Ordinal) { PayloadRoot };
        var entries = files.Select(f => (Path: PayloadRoot + "/" + f.GuestPath.TrimStart('/'), File: f)).ToList();
        foreach (var (path, _) in entries)
            for (var dir = Path.GetDirectoryName(path)?.Replace('\\', '/'); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir)?.Replace('\\', '/'))
                directories.Add(dir);
        foreach (var dir in directories) Entry(output, dir, 0x4000 | 0b111_101_101, [], inode++);
        foreach (var (path, file) in entries) Entry(output, path, 0x8000 | (int)file.Mode, file.Content, inode++);
        Entry(output, "TRAILER!!!", 0, [], 0);
    }

    private static void Entry(Stream output, string name, int mode, byte[] content, int inode)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var header = string.Concat("070701",
            Hex(inode), Hex(mode), Hex(0), Hex(0), Hex((mode & 0x4000) != 0 ? 2 : 1), Hex(0), Hex(content.Length),
            Hex(0), Hex(0), Hex(0), Hex(0), Hex(nameBytes.Length), Hex(0));
        output.Write(Encoding.ASCII.GetBytes(header));
        output.Write(nameBytes);
        Pad(output, 110 + nameBytes.Length);
        output.Write(content);
        Pad(output, content.Length);
    }

    private static string Hex(int value) => value.ToString("x8");

    private static void Pad(Stream output, int length)
    {
        for (var i = length; i % 4 != 0; i++) output.WriteByte(0);
    }
}
