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

    private readonly GuestTemplateStore _templates = new();

    protected override GuestTemplateStore Templates => _templates;

    protected override async Task OnStartedAsync(VirtualMachine vm, CancellationToken cancellationToken)
    {
        await vm.SnapshotAsync("clean", cancellationToken);
        _templates.Publish(await vm.SaveTemplateAsync("clean", Request, facts: null, cancellationToken));
    }

    /// <summary>Another guest like this fixture's, started from its template (QEMU -loadvm on a copy of its overlay), for a test to own and dispose.</summary>
    public Task<VirtualMachine> StartAnotherAsync(Action<string> log) =>
        VirtualMachine.StartFromTemplateAsync(_templates.Current ?? throw new VmException($"No guest template: {NoVmReason ?? "the fixture saved none"}"),
            Options, log);
}

/// <summary>Every self-test that boots a guest runs in this collection, one at a time: two guests would halve each other's CPU.</summary>
[CollectionDefinition(Name)]
public sealed class GuestVmCollection : ICollectionFixture<StandInVmFixture>
{
    public const string Name = "Guest VM";
}

/// <summary>Runs the <see cref="GuestVmCollection"/> first, then the others by name.</summary>
public sealed class GuestFirstOrderer : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName == GuestVmCollection.Name ? 0 : 1).ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
