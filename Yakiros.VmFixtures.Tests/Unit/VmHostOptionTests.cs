using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmFixtures.Tests.Unit;

/// <summary>The VmHost option and the messages that decide between the host's QEMU and a container.</summary>
[Trait("Category", "Unit")]
public sealed class VmHostOptionTests
{
    [Fact]
    public void VmHost_defaults_to_auto_on_debian_bookworm_and_binds_case_insensitively()
    {
        var defaults = VmOptionsLoader.Load(Path.GetTempPath(), environment: false);
        var container = VmOptionsLoader.Load(Path.GetTempPath(), new Dictionary<string, string?>
        {
            ["VmHost"] = "container", ["ContainerBaseImage"] = "registry.example/debian:12",
        }, environment: false);

        defaults.VmHost.Should().Be(VmHostKind.Auto);
        defaults.ContainerBaseImage.Should().Be("debian:bookworm");
        container.VmHost.Should().Be(VmHostKind.Container);
        container.ContainerBaseImage.Should().Be("registry.example/debian:12");
    }

    [Fact]
    public void An_unknown_vm_host_or_an_empty_base_image_is_rejected_naming_the_setting()
    {
        var unknown = () => VmOptionsLoader.Load(Path.GetTempPath(), new Dictionary<string, string?> { ["VmHost"] = "cloud" }, environment: false);
        var empty = () => VmOptionsLoader.Load(Path.GetTempPath(), new Dictionary<string, string?> { ["ContainerBaseImage"] = " " }, environment: false);

        unknown.Should().Throw<VmConfigurationException>().WithMessage("*cloud*");
        empty.Should().Throw<VmConfigurationException>().WithMessage("*YAKIROS_CONTAINERBASEIMAGE*");
    }

    [Fact]
    public void Without_host_qemu_the_host_problem_names_the_packages()
    {
        var options = new VmOptions { QemuBinary = "qemu-system-x86_64-not-installed" };

        VmHosts.HostProblem(options).Should().Contain("qemu-system-x86_64-not-installed").And.Contain("sudo apt-get install -y qemu-system-x86");
    }

    [Fact]
    public void When_neither_host_can_run_the_guest_the_skip_names_both_fixes()
    {
        var message = VmHosts.NoHostMessage("Missing host programs: qemu-system-x86_64 (runs the guest).", "no Docker engine: there is no socket /x.sock");

        message.Should().Contain("./run.sh setup").And.Contain("qemu-system-x86_64")
            .And.Contain("/x.sock").And.Contain("docker.io").And.Contain("DOCKER_HOST").And.Contain("YAKIROS_VMHOST");
    }

    [Fact]
    public async Task A_missing_engine_socket_is_an_answer_at_once_not_a_hang()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var (engine, problem) = await ContainerEngine.ProbeAsync(TimeSpan.FromSeconds(3), CancellationToken.None, new Uri("unix:///nonexistent/yakiros-test.sock"));

        engine.Should().BeNull();
        problem.Should().Contain("/nonexistent/yakiros-test.sock");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));
    }
}
