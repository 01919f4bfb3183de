using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>The engine the container self-tests use, or a skip that says why there is none and how to get one.</summary>
internal static class ContainerEngineFact
{
    public static async Task<ContainerEngine> RequireAsync()
    {
        var (engine, problem) = await ContainerEngine.ProbeAsync(TimeSpan.FromSeconds(3), CancellationToken.None);
        Skip.If(engine is null, $"Container test skipped: {problem}. To run it: {ContainerEngine.HowToProvide}");
        engine!.ConfigureTestcontainers();
        return engine;
    }
}
