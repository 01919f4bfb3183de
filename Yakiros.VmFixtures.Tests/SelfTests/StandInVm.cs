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

    protected override Task OnStartedAsync(VirtualMachine vm, CancellationToken cancellationToken) => vm.SnapshotAsync("clean", cancellationToken);
}

/// <summary>Every self-test that boots a guest runs in this collection, one at a time: two guests would halve each other's CPU.</summary>
[CollectionDefinition(Name)]
public sealed class GuestVmCollection : ICollectionFixture<StandInVmFixture>
{
    public const string Name = "Guest VM";
}
