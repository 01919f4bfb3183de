using Yakiros.VmFixtures;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class VmOptionsBindingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yakiros-options-").FullName;

    [Fact]
    public void Defaults_are_a_small_tcg_capable_guest()
    {
        var options = VmOptionsLoader.Load(_dir, environment: false);

        options.MemoryMb.Should().Be(1024);
        options.Cpus.Should().Be(2);
        options.Accelerator.Should().Be(Accelerator.Auto);
        options.KeepVmOnFailure.Should().BeFalse();
        options.ResolvedCacheDir.Should().EndWith("yakiros-vmtests");
    }

    [Fact]
    public void Appsettings_json_sets_options()
    {
        File.WriteAllText(Path.Combine(_dir, "appsettings.json"),
            """{ "MemoryMb": 2048, "Cpus": 1, "Accelerator": "tcg", "CacheDir": "/tmp/c", "BootTimeoutSeconds": 30, "KeepVmOnFailure": true, "BuildDir": "/src/yakiros" }""");

        var options = VmOptionsLoader.Load(_dir, environment: false); // the user's YAKIROS_* variables must not leak in

        options.MemoryMb.Should().Be(2048);
        options.Cpus.Should().Be(1);
        options.Accelerator.Should().Be(Accelerator.Tcg);
        options.ResolvedCacheDir.Should().Be("/tmp/c");
        options.BootTimeout.Should().Be(TimeSpan.FromSeconds(30));
        options.KeepVmOnFailure.Should().BeTrue();
        options.BuildDir.Should().Be("/src/yakiros");
    }

    [Fact]
    public void YAKIROS_environment_variables_override_appsettings()
    {
        // BuildDir is the one option no concurrently starting VM fixture reads, so this test may set it process-wide.
        File.WriteAllText(Path.Combine(_dir, "appsettings.json"), """{ "BuildDir": "/from/json", "Cpus": 1 }""");
        Environment.SetEnvironmentVariable("YAKIROS_BUILDDIR", "/from/env");
        try
        {
            var options = VmOptionsLoader.Load(_dir);

            options.BuildDir.Should().Be("/from/env");
            options.Cpus.Should().Be(1);
        }
        finally
        {
            Environment.SetEnvironmentVariable("YAKIROS_BUILDDIR", null);
        }
    }

    [Theory]
    [InlineData("MemoryMb", "64", "MemoryMb=64")]
    [InlineData("Cpus", "0", "Cpus=0")]
    [InlineData("Accelerator", "warp", "Accelerator")]
    public void Bad_values_are_rejected_with_the_setting_named(string key, string value, string named)
    {
        var act = () => VmOptionsLoader.Load(_dir, new Dictionary<string, string?> { [key] = value }, environment: false);

        act.Should().Throw<VmConfigurationException>().WithMessage($"*{named}*");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
