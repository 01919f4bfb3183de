using Docker.DotNet.Models;
using Xunit.Abstractions;
using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>
/// The container VM host without Ryuk: neither the container nor its QEMU outlives a test host killed with SIGKILL,
/// and a labelled container whose owner is gone is swept at the next start.
/// </summary>
[Collection(ContainerEngineCollection.Name)]
[Trait("Category", "Harness")]
public sealed class ContainerGuardTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_container_and_its_qemu_die_with_a_test_host_killed_by_SIGKILL()
    {
        var engine = await ContainerEngineFact.RequireAsync();
        using var client = engine.CreateClient();
        using var host = await GuardDemoHost.StartAsync(TimeSpan.FromMinutes(10), "--container"); // a cold run builds the image
        var (qemuPid, name) = (host.QemuPid, host.Printed["container"]);
        VmLifecycleTests.IsRunning(qemuPid).Should().BeTrue("QEMU runs in the container while its host lives");
        (await ExistsAsync(client, name)).Should().BeTrue("the container runs while its host lives");

        host.KillWithSigkill();
        var waited = await GuardDemoHost.WaitUntilAsync(async () => !VmLifecycleTests.IsRunning(qemuPid) && !await ExistsAsync(client, name),
            TimeSpan.FromSeconds(ContainerReaper.StaleSeconds + 20));

        VmLifecycleTests.IsRunning(qemuPid).Should().BeFalse($"QEMU pid {qemuPid} must die with its SIGKILLed host (waited {waited.TotalSeconds:F1} s)");
        (await ExistsAsync(client, name)).Should().BeFalse($"container {name} must be removed once its host is gone (waited {waited.TotalSeconds:F1} s)");
        output.WriteLine($"container {name} and QEMU pid {qemuPid} gone {waited.TotalSeconds:F1} s after the SIGKILL");
    }

    [SkippableFact]
    public async Task A_labelled_container_whose_owner_is_gone_is_swept_at_the_next_start()
    {
        var (client, options, image) = await VmHostImageAsync();
        using var _ = client;
        var labels = new Dictionary<string, string>(ContainerReaper.OwnerLabels()) { [ContainerReaper.OwnerLabel] = DeadPid().ToString() };
        var name = $"yakiros-orphan-{Guid.NewGuid():N}"[..30];
        var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image, Name = name, Labels = labels, Cmd = ["sleep", "600"], HostConfig = new HostConfig { NetworkMode = "none" },
        });
        try
        {
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());

            var swept = await ContainerReaper.SweepAsync(client, options.ResolvedRunsDir, CancellationToken.None);

            swept.Should().Contain(name);
            (await ExistsAsync(client, name)).Should().BeFalse("the sweep removes a container whose owner is gone");
        }
        finally
        {
            await RemoveIfPresentAsync(client, name, created.ID);
        }
    }

    [SkippableFact]
    public async Task Where_the_owner_cannot_be_seen_a_stale_heartbeat_alone_ends_the_container()
    {
        var (client, options, image) = await VmHostImageAsync();
        using var _ = client;
        Directory.CreateDirectory(options.ResolvedRunsDir);
        var heartbeat = Path.Combine(options.ResolvedRunsDir, $"heartbeat-test-{Guid.NewGuid():N}");
        File.WriteAllText(heartbeat, "");
        var name = $"yakiros-heartbeat-{Guid.NewGuid():N}"[..34];
        // As on an engine in another kernel (Docker Desktop): no owner pid to watch, only the heartbeat file.
        var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image, Name = name, Labels = new Dictionary<string, string>(ContainerReaper.OwnerLabels()),
            Entrypoint = ["/bin/sh", "-c", ContainerReaper.WatcherScript, "watcher"],
            Cmd = [heartbeat, heartbeat + ".keep", ContainerReaper.StaleSeconds.ToString(), "", "", "another-kernel"],
            HostConfig = new HostConfig { NetworkMode = "none", AutoRemove = true, Binds = [$"{options.ResolvedRunsDir}:{options.ResolvedRunsDir}"] },
        });
        try
        {
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
            var beating = Task.Run(async () =>
            {
                for (var i = 0; i < 3 * ContainerReaper.StaleSeconds / 2; i++) { File.SetLastWriteTimeUtc(heartbeat, DateTime.UtcNow); await Task.Delay(1000); }
            });
            await beating;
            (await ExistsAsync(client, name)).Should().BeTrue("the container lives while the heartbeat beats, past the staleness limit");

            var waited = await GuardDemoHost.WaitUntilAsync(async () => !await ExistsAsync(client, name), TimeSpan.FromSeconds(ContainerReaper.StaleSeconds + 15));

            (await ExistsAsync(client, name)).Should().BeFalse($"the heartbeat stopped {waited.TotalSeconds:F1} s ago: the container must end and remove itself");
            output.WriteLine($"container gone {waited.TotalSeconds:F1} s after the last heartbeat (limit {ContainerReaper.StaleSeconds} s)");
        }
        finally
        {
            File.Delete(heartbeat);
            await RemoveIfPresentAsync(client, name, created.ID);
        }
    }

    /// <summary>An engine client, the options, and the VM host image (built if needed); skips without an engine.</summary>
    private async Task<(Docker.DotNet.DockerClient Client, VmOptions Options, string Image)> VmHostImageAsync()
    {
        var engine = await ContainerEngineFact.RequireAsync();
        var options = VmOptionsLoader.Load();
        var image = await new ContainerImages(engine, options, output.WriteLine).EnsureVmHostAsync(CancellationToken.None);
        return (engine.CreateClient(), options, image);
    }

    private static async Task RemoveIfPresentAsync(Docker.DotNet.DockerClient client, string name, string id)
    {
        if (await ExistsAsync(client, name))
            await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
    }

    private static async Task<bool> ExistsAsync(Docker.DotNet.DockerClient client, string name)
    {
        var list = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
        });
        return list.Any(c => c.Names.Any(n => n.TrimStart('/') == name));
    }

    /// <summary>The pid of a process that has already ended.</summary>
    private static int DeadPid()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }
}

/// <summary>Container self-tests run alone, after the guest VM's collection: one VM or container at a time on 2 cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerEngineCollection
{
    public const string Name = "Container engine";
}
