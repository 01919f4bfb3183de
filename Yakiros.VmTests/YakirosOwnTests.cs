using System.Formats.Tar;
using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11: "All 50+ unit and integration tests continue to pass in VM environment". When the YakirOS folder holds
/// the test programs its Makefile builds (`make build-tests`), each runs inside the guest (as root, with YakirOS's
/// tests/data beside it, from a copy of the source root as the Makefile runs them) and is its own result: exit 0
/// passes, anything else fails with the program's output. Without them the test is skipped with the command that
/// builds them. The programs fork, write /run/graph and make cgroups: the guest is restored after each.
/// </summary>
[Trait("Category", Categories.YakirosOwnTests)]
[Collection(YakirosCollection.Name)]
public sealed class YakirosOwnTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    private const string None = "(none built)";
    private const string Root = "/run/yakiros-tests/own";

    /// <summary>The programs found when the tests are discovered (the build folder from the same options the run uses).</summary>
    public static TheoryData<string> Programs
    {
        get
        {
            var data = new TheoryData<string>();
            var options = VmOptionsLoader.Load();
            var found = options.BuildDir is { Length: > 0 } dir && Directory.Exists(dir) ? new YakirosBuild(Path.GetFullPath(dir)).OwnTestPrograms() : [];
            foreach (var program in found.DefaultIfEmpty(None)) data.Add(program);
            return data;
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Programs))]
    public async Task YakirOS_own_test_program_passes_in_the_guest(string program)
    {
        Skip.If(program == None, $"No YakirOS test programs in the build folder ({Fixture.Options.BuildDir ?? "not set"}). " +
                                 "Build them in your YakirOS checkout with `make build-tests` (or `make -k build-tests`) and point YAKIROS_BUILDDIR at it.");
        var (vm, _) = await GuestAsync();
        await vm.Shell.UploadAsync(Bundle(Fixture.Build.Directory, program), $"{Root}.tar");

        var result = await vm.Shell.RunAsync($"mkdir -p {Root} && tar -xf {Root}.tar -C {Root} && cd {Root} && timeout 120 ./{program} 2>&1",
            Scaled(TimeSpan.FromSeconds(150)));

        Output.WriteLine(GuestConsole.LastLines(result.Stdout, 200));
        void Passes() => result.ExitCode.Should().Be(0, "{0} is one of YakirOS's own tests and must pass in the guest (exit 124 = it ran out of its 120 s); its output ends:\n{1}",
            program, GuestConsole.LastLines(result.Stdout, 40));
        if (KnownFailures.TryGetValue(program, out var defect))
            await ExpectDefectAsync(defect, Passes, result.Stdout);
        else
            Passes();
    }

    /// <summary>YakirOS's own test programs that fail on the published source, with the defect their output shows.</summary>
    private static readonly Dictionary<string, Defect> KnownFailures = new()
    {
        ["tests/unit/test_checkpoint"] = KnownDefects.OwnCheckpointTestFails,
    };

    /// <summary>A tar of the program and YakirOS's tests/data, laid out as in the source tree.</summary>
    private static MemoryStream Bundle(string buildDir, string program)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(Path.Combine(buildDir, program), program);
            var data = Path.Combine(buildDir, "tests", "data");
            if (Directory.Exists(data))
                foreach (var file in Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories))
                    writer.WriteEntry(file, Path.GetRelativePath(buildDir, file).Replace('\\', '/'));
        }
        tar.Position = 0;
        return tar;
    }
}
