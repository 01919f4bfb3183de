using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ComponentDefinitionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yakiros-components-").FullName;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_component_file_is_read_with_its_capabilities()
    {
        var path = Write("03-echo.toml", """
            [component]
            name = "test-echo-server"
            binary = "/usr/lib/yakiros-tests/bin/test-echo-server"
            [provides]
            capabilities = ["test.echo"]
            [requires]
            capabilities = ["network.configured", "kernel.memory"]
            [lifecycle]
            health_interval = 10
            """);

        var component = ComponentDefinition.Load(path);

        component.Should().Match<ComponentDefinition>(c => c.Name == "test-echo-server" && c.Type == "service" && !c.IsOneshot);
        component.Provides.Should().Equal("test.echo");
        component.Requires.Should().Equal("network.configured", "kernel.memory");
        component.Value("lifecycle", "health_interval").Should().Be("10");
    }

    [Fact]
    public void Invalid_TOML_fails_with_the_file_name_and_line()
    {
        var path = Write("07-broken.toml", "[component]\nname = \"x\"\nbinary = \"/bin/true\"\nrequires = [\"a\",\n");

        var act = () => ComponentDefinition.Load(path);

        act.Should().Throw<ComponentFileException>().WithMessage("07-broken.toml:*invalid TOML*").Which.Message.Should().MatchRegex(@"^07-broken\.toml:[45]:");
    }

    [Theory]
    [InlineData("[component]\nbinary = \"/bin/true\"\n", "*[component] name is missing*")]
    [InlineData("[component]\nname = \"x\"\n", "*[component] binary is missing*")]
    [InlineData("[component]\nname = \"x\"\nbinary = \"true\"\n", "*must be an absolute path*")]
    [InlineData("[provides]\ncapabilities = [\"a\"]\n", "*no [component] table*")]
    public void Files_that_YakirOS_would_skip_or_fail_are_rejected_with_the_reason(string text, string message)
    {
        var act = () => ComponentDefinition.Load(Write("bad.toml", text));

        act.Should().Throw<ComponentFileException>().WithMessage("bad.toml*" + message.TrimStart('*'));
    }

    [Fact]
    public void The_repository_components_all_parse()
    {
        var guestConfig = GuestConfigLocator.Find(new VmOptions());

        var components = ComponentDefinition.LoadAll(Path.Combine(guestConfig, "components"));

        components.Should().NotBeEmpty().And.OnlyHaveUniqueItems(c => c.Name);
        ComponentDefinition.LoadAll(Path.Combine(guestConfig, "runtime-components")).Select(c => c.Name).Should().BeEquivalentTo("test-cycle-a", "test-cycle-b");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
