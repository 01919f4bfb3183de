using Xunit.Abstractions;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>
/// The source-build path on a tiny C project generated here (a Makefile with the two targets YakirOS has): it is
/// built in a container of the guest's distribution, cached by its sources, and a compile error shows the compiler's
/// own words. No YakirOS code is involved.
/// </summary>
[Collection(ContainerEngineCollection.Name)]
[Trait("Category", "Harness")]
public sealed class SourceBuildTests(ITestOutputHelper output) : IDisposable
{
    private const string Makefile = """
        CFLAGS = -Wall -O2
        all: graph-resolver graphctl
        graph-resolver: src/resolver.c
        	$(CC) $(CFLAGS) -o $@ $<
        graphctl: src/ctl.c
        	$(CC) $(CFLAGS) -o $@ $<
        """;

    private readonly string _checkout = Directory.CreateTempSubdirectory("yakiros-srcbuild-").FullName;
    private readonly List<string> _built = [];
    private readonly List<Func<string>> _logs = [];

    [SkippableFact]
    public async Task A_source_checkout_is_built_in_the_guest_distribution_and_cached_by_its_sources()
    {
        await ContainerEngineFact.RequireAsync();
        WriteCheckout($"int main(void) {{ return 0; }} /* {Guid.NewGuid()} */\n");
        var options = Options();
        var lines = new List<string>();
        void Log(string line) { lines.Add(line); output.WriteLine(line); }

        var built = await SourceBuild.EnsureAsync(new YakirosBuild(_checkout), options, Log, Deadline(10));
        var again = await SourceBuild.EnsureAsync(new YakirosBuild(_checkout), options, Log, Deadline(1));

        _built.Add(built.Directory);
        built.Directory.Should().StartWith(Path.Combine(options.ResolvedCacheDir, "yakiros-builds"));
        built.Problems().Should().BeEmpty("the binaries are x86-64 ELF linked against a glibc the guest has");
        again.Should().Be(built, "unchanged sources are not built again");
        lines.Should().Contain(l => l.StartsWith("built YakirOS from source", StringComparison.Ordinal))
            .And.Contain(l => l.Contains("is built already", StringComparison.Ordinal));
        File.Exists(Path.Combine(_checkout, "graph-resolver")).Should().BeFalse("the build runs on a copy: the user's checkout is left as it was");
    }

    [SkippableFact]
    public async Task A_failed_build_shows_the_compiler_s_own_error_lines()
    {
        await ContainerEngineFact.RequireAsync();
        WriteCheckout("int main(void) { return undeclared_name_42; }\n");

        var act = () => SourceBuild.EnsureAsync(new YakirosBuild(_checkout), Options(), output.WriteLine, Deadline(10));

        var error = (await act.Should().ThrowAsync<VmConfigurationException>()).Which;
        error.Message.Should().Contain("resolver.c:1").And.Contain("undeclared_name_42").And.Contain("error");
        output.WriteLine(error.Message);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Only_a_checkout_whose_binaries_are_missing_or_older_than_its_sources_needs_a_build()
    {
        WriteCheckout("int main(void) { return 0; }\n");
        var build = new YakirosBuild(_checkout);
        SourceBuild.NeedsBuild(build).Should().BeTrue("the binaries are missing");

        foreach (var binary in SourceBuild.Targets) File.WriteAllText(Path.Combine(_checkout, binary), "");
        SourceBuild.NeedsBuild(build).Should().BeFalse("the binaries are newer than the sources");

        File.SetLastWriteTimeUtc(Path.Combine(_checkout, "src", "ctl.c"), DateTime.UtcNow.AddMinutes(1));
        SourceBuild.NeedsBuild(build).Should().BeTrue("a source changed after the build");
        SourceBuild.NeedsBuild(new YakirosBuild(Path.Combine(_checkout, "src"))).Should().BeFalse("a folder without a Makefile is not a source checkout");
    }

    private void WriteCheckout(string resolverSource)
    {
        _logs.Add(() => Path.Combine(Options().ResolvedCacheDir, "yakiros-builds", $"{SourceBuild.SourcesKey(_checkout)}.log"));
        Directory.CreateDirectory(Path.Combine(_checkout, "src"));
        File.WriteAllText(Path.Combine(_checkout, "Makefile"), Makefile);
        File.WriteAllText(Path.Combine(_checkout, "src", "resolver.c"), resolverSource);
        File.WriteAllText(Path.Combine(_checkout, "src", "ctl.c"), "#include <stdio.h>\nint main(void) { puts(\"ctl\"); return 0; }\n");
    }

    private static VmOptions Options() => VmOptionsLoader.Load();

    private static CancellationToken Deadline(int minutes) => new CancellationTokenSource(TimeSpan.FromMinutes(minutes)).Token;

    public void Dispose()
    {
        var logs = _logs.Select(log => log()).ToList();
        foreach (var log in logs.Where(File.Exists)) File.Delete(log);
        Directory.Delete(_checkout, recursive: true);
        foreach (var dir in _built.Where(Directory.Exists)) Directory.Delete(dir, recursive: true); // this test's sources are unique
    }
}
