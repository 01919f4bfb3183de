using System.Text;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class YakirosBuildTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yakiros-build-").FullName;

    private static byte[] Elf(byte elfClass = 2, ushort machine = 0x3E, string extra = "")
    {
        var bytes = new byte[256];
        "\u007fELF"u8.CopyTo(bytes);
        bytes[4] = elfClass;
        BitConverter.GetBytes(machine).CopyTo(bytes, 18);
        Encoding.ASCII.GetBytes(extra).CopyTo(bytes, 64);
        return bytes;
    }

    private YakirosBuild WithFiles(byte[] resolver, byte[] graphctl)
    {
        File.WriteAllBytes(Path.Combine(_dir, "graph-resolver"), resolver);
        File.WriteAllBytes(Path.Combine(_dir, "graphctl"), graphctl);
        return new YakirosBuild(_dir);
    }

    [Fact]
    public void A_static_x86_64_build_has_no_problems() => WithFiles(Elf(), Elf()).Problems().Should().BeEmpty();

    [Fact]
    public void Missing_files_are_named_with_the_fix() =>
        new YakirosBuild(_dir).Problems().Should().HaveCount(2).And.AllSatisfy(p => p.Should().Contain("is missing: build YakirOS (`make`)"));

    [Fact]
    public void A_non_ELF_or_non_x86_64_file_is_rejected()
    {
        var problems = WithFiles("#!/bin/sh\necho hi\n"u8.ToArray(), Elf(machine: 0xB7)).Problems();

        problems.Should().HaveCount(2);
        problems[0].Should().Contain("graph-resolver is not an ELF executable");
        problems[1].Should().Contain("graphctl is not an x86-64 binary").And.Contain("machine 0xb7");
    }

    [Fact]
    public void A_dynamic_build_needing_a_newer_glibc_than_the_guest_gets_the_static_build_advice()
    {
        var newer = Elf(extra: "/lib64/ld-linux-x86-64.so.2\0GLIBC_2.2.5\0GLIBC_2.38\0GLIBC_2.34\0");
        var fits = Elf(extra: "/lib64/ld-linux-x86-64.so.2\0GLIBC_2.2.5\0GLIBC_2.34\0");

        var problems = WithFiles(newer, fits).Problems();

        problems.Should().ContainSingle().Which.Should().Contain("glibc 2.38, newer than the guest's 2.36").And.Contain("build YakirOS statically");
    }

    [Fact]
    public void Without_a_configured_build_the_reason_says_how_to_provide_one()
    {
        var (build, missing, named) = YakirosBuild.Locate(new VmOptions(), _dir);

        build.Should().BeNull();
        named.Should().BeFalse("nothing was named, so the YakirOS tests may skip");
        missing.Should().Contain("YAKIROS_BUILDDIR").And.Contain("../yakiros");
    }

    [Fact]
    public void A_named_build_that_does_not_exist_is_named_so_the_run_fails()
    {
        var (build, missing, named) = YakirosBuild.Locate(new VmOptions { BuildDir = Path.Combine(_dir, "nonexistent") }, _dir);

        build.Should().BeNull();
        named.Should().BeTrue();
        missing.Should().Contain("does not exist, so the YakirOS build you named cannot be tested");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
