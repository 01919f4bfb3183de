using Yakiros.VmFixtures.Xunit;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>Without QEMU, VM tests are skipped with the install command; nothing hangs, nothing crashes.</summary>
[Trait("Category", "Harness")]
public sealed class MissingQemuTests
{
    private sealed class NoQemuFixture : VmFixture
    {
        protected override VmOptions LoadOptions() => new() { QemuBinary = "qemu-system-x86_64-not-installed", VmHost = Containers.VmHostKind.Host };
    }

    [Fact]
    public async Task A_missing_qemu_skips_the_vm_tests_naming_the_install_command()
    {
        var fixture = new NoQemuFixture();
        await fixture.InitializeAsync();

        var useVm = () => fixture.Vm;

        useVm.Should().Throw<SkipException>()
            .WithMessage("*qemu-system-x86_64-not-installed*not found*sudo apt-get install -y qemu-system-x86 qemu-utils*");
        fixture.UnavailableReason.Should().NotBeNull();
        await fixture.DisposeAsync();
    }

    [Fact]
    public void Missing_image_tools_are_named_with_their_packages()
    {
        var message = HostTools.DescribeMissing([new HostTools.Tool("mmdebstrap-not-here", "mmdebstrap", "builds the root filesystem")]);

        message.Should().Be("Missing host programs: mmdebstrap-not-here (builds the root filesystem). Install them with: sudo apt-get install -y mmdebstrap");
        HostTools.DescribeMissing([new HostTools.Tool("sh", "dash", "a shell")]).Should().BeNull();
    }
}
