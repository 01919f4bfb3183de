using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTool;

/// <summary>`build-yakiros DIR`: builds a YakirOS source checkout as the tests would (in a container), and prints the folder.</summary>
internal static class SourceBuildCommand
{
    public static async Task<int> RunAsync(VmOptions options, string? dir, CancellationToken cancellationToken)
    {
        if (dir is null || !Directory.Exists(dir))
        {
            Console.Error.WriteLine("usage: build-yakiros <YakirOS source checkout> (a folder with a Makefile and src/)");
            return 64;
        }
        var build = await SourceBuild.EnsureAsync(new YakirosBuild(Path.GetFullPath(dir)), options, line => Console.WriteLine($"  {line}"), cancellationToken);
        var problems = build.Problems();
        Console.WriteLine(problems.Count == 0 ? $"YakirOS build: {build.Directory}" : $"YakirOS build {build.Directory} cannot run in the guest: {string.Join(" ", problems)}");
        return problems.Count == 0 ? 0 : 1;
    }
}
