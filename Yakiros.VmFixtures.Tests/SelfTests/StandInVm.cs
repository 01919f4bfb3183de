using Xunit.Abstractions;
using Yakiros.VmFixtures.Xunit;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>The guest with the stand-in init (no YakirOS), booted once for the harness self-tests and snapshotted clean.</summary>
public sealed class StandInVmFixture : VmFixture
{
    public const int EchoPort = 7000;

    public const string PayloadProbe = "/usr/local/bin/yakiros-payload-probe";

    protected override VmStartRequest Request => new()
    {
        GuestPorts = [EchoPort],
        Payload = [new PayloadFile(PayloadProbe, "#!/bin/sh\necho payload-ok\n"u8.ToArray(), PayloadFile.Executable)],
    };

    /// <summary>The collections' guests start one at a time: the first boots, the other starts from its template.</summary>
    private static readonly SemaphoreSlim OneBootAtATime = new(1, 1);

    private static readonly GuestTemplateStore SharedTemplates = new();

    protected override SemaphoreSlim BootGate => OneBootAtATime;

    protected override GuestTemplateStore Templates => SharedTemplates;

    protected override async Task OnStartedAsync(VirtualMachine vm, CancellationToken cancellationToken)
    {
        await vm.SnapshotAsync("clean", cancellationToken);
        SharedTemplates.Publish(await vm.SaveTemplateAsync("clean", Request, facts: null, cancellationToken));
    }

    /// <summary>Another guest like this fixture's, started from its template (QEMU -loadvm on a copy of its overlay), for a test to own and dispose.</summary>
    public Task<VirtualMachine> StartAnotherAsync(Action<string> log) =>
        VirtualMachine.StartFromTemplateAsync(SharedTemplates.Current ?? throw new VmException($"No guest template: {NoVmReason ?? "the fixture saved none"}"),
            Options, log);
}

/// <summary>The self-tests that use the stand-in guest, one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class GuestVmCollection : ICollectionFixture<StandInVmFixture>
{
    public const string Name = "Guest VM";
}

/// <summary>
/// The self-tests that start and end guests of their own (from the template), beside the <see cref="GuestVmCollection"/>:
/// the stand-in guest keeps about one of the host's cores busy, and the other was idle. This collection's own guest
/// starts from the first one's template.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GuestVmLifecycleCollection : ICollectionFixture<StandInVmFixture>
{
    public const string Name = "Guest VM lifecycle";
}

/// <summary>Runs the guest collections first (their boot is the longest thing here), then the others by name.</summary>
public sealed class GuestFirstOrderer : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName is GuestVmCollection.Name or GuestVmLifecycleCollection.Name ? 0 : 1)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}

