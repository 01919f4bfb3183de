using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmTool;

/// <summary>`engine`: says whether a Docker engine answers (for run.sh's check in container mode), and which.</summary>
internal static class EngineCheck
{
    public static async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var (engine, problem) = await ContainerEngine.ProbeAsync(TimeSpan.FromSeconds(3), cancellationToken);
        if (engine is null)
        {
            Console.Error.WriteLine($"container engine: {problem}. {ContainerEngine.HowToProvide}");
            return 3;
        }
        Console.WriteLine($"container engine: {engine}");
        return 0;
    }
}
