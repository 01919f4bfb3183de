using System.Diagnostics;
using System.Text;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CpioArchiveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yakiros-cpio-").FullName;

    [SkippableFact]
    public void The_payload_archive_unpacks_with_cpio_under_payload_with_modes_and_bytes()
    {
        Skip.If(HostTools.Find("cpio") is null, "cpio is not installed: sudo apt-get install -y cpio");
        var binary = Enumerable.Range(0, 1001).Select(i => (byte)i).ToArray();
        var archive = Path.Combine(_dir, "payload.cpio");
        using (var output = File.Create(archive))
            CpioArchive.Write(output, [
                new PayloadFile("/sbin/graph-resolver", binary, PayloadFile.Executable),
                new PayloadFile("/etc/graph.d/10-echo.toml", Encoding.UTF8.GetBytes("[component]\nname = \"echo\"\n"), PayloadFile.Regular),
            ]);

        var unpack = Process.Start(new ProcessStartInfo("cpio", ["-i", "-d", "--quiet", "-F", archive]) { WorkingDirectory = _dir, RedirectStandardError = true })!;
        unpack.WaitForExit(10_000).Should().BeTrue();

        unpack.ExitCode.Should().Be(0, unpack.StandardError.ReadToEnd());
        File.ReadAllBytes(Path.Combine(_dir, "payload/sbin/graph-resolver")).Should().Equal(binary);
        File.GetUnixFileMode(Path.Combine(_dir, "payload/sbin/graph-resolver")).Should().Be(PayloadFile.Executable);
        File.ReadAllText(Path.Combine(_dir, "payload/etc/graph.d/10-echo.toml")).Should().Be("[component]\nname = \"echo\"\n");
        (new FileInfo(archive).Length % 4).Should().Be(0, "newc entries are 4-byte aligned so that archives can be concatenated");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
