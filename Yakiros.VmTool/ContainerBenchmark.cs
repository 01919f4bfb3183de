using System.Diagnostics;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmTool;

/// <summary>
/// The bench's container part: the same guest with QEMU in the container VM host. Measures the container's own start
/// (create + start), QEMU start to SSH channel open inside it, the whole VirtualMachine.StartAsync, and a command on
/// the persistent connection; and checks the bar of issue 11: container boot-to-SSH within 1.3x the host's. Where the
/// host's QEMU runs too, each round boots the host guest right before the container guest, so both medians come from
/// the same minutes of a machine whose load changes.
/// </summary>
internal static class ContainerBenchmark
{
    private const double BootBar = 1.3;

    /// <summary>Null when no engine answers (nothing measured), else 0 when the bar holds or no host figure to hold it to, 1 when missed.</summary>
    public static async Task<int?> RunAsync(VmOptions options, int rounds, double? hostCommand, Action<string, string> row,
        CancellationToken cancellationToken)
    {
        var (engine, problem) = await ContainerEngine.ProbeAsync(TimeSpan.FromSeconds(3), cancellationToken);
        if (engine is null)
        {
            row("container VM host", $"not measured: {problem}");
            return null;
        }
        row("container VM host", engine.ToString());
        var containerOptions = Benchmark.Clone(options, options.CacheDir);
        containerOptions.VmHost = VmHostKind.Container;
        List<double> starts = [], boots = [], totals = [], commands = [], hostBoots = [];
        for (var i = 0; i < rounds; i++)
        {
            if (hostCommand is not null)
            {
                await using var hostVm = await VirtualMachine.StartAsync(options, cancellationToken: cancellationToken);
                hostBoots.Add(hostVm.BootTime.TotalSeconds);
            }
            var clock = Stopwatch.StartNew();
            await using var vm = await VirtualMachine.StartAsync(containerOptions, cancellationToken: cancellationToken);
            totals.Add(clock.Elapsed.TotalSeconds);
            boots.Add(vm.BootTime.TotalSeconds);
            if (vm.Host is ContainerVmHost container) starts.Add(container.ContainerStartTime.TotalSeconds);
            if (i > 0) continue;
            for (var n = 0; n < 3; n++) await vm.Shell.SucceedAsync("true", cancellationToken: cancellationToken); // warm the channel
            for (var n = 0; n < 20; n++) commands.Add((await vm.Shell.SucceedAsync("true", cancellationToken: cancellationToken)).Duration.TotalSeconds * 1000);
        }
        row("container start (create + start, Testcontainers)", Benchmark.Describe(starts, "s"));
        row("container: QEMU start -> SSH channel open", Benchmark.Describe(boots, "s"));
        row("container: whole VM start (container, checks, boot)", Benchmark.Describe(totals, "s"));
        row("container: command on the persistent connection (`true`)", Benchmark.Describe(commands, "ms"));
        if (hostCommand is not { } command) return 0;
        var hostBoot = Benchmark.Median(hostBoots);
        row("host, booted before each container round: QEMU start -> SSH channel open", Benchmark.Describe(hostBoots, "s"));
        row("host vs container", $"boot-to-SSH {hostBoot:F2} s vs {Benchmark.Median(boots):F2} s; command {command * 1000:F1} ms vs {Benchmark.Median(commands):F1} ms");
        Console.WriteLine();
        Console.WriteLine("bar (issue 11)                                        measured  limit  verdict");
        var ok = Benchmark.Bar("container boot-to-SSH / host boot-to-SSH", Benchmark.Median(boots) / hostBoot, BootBar);
        Benchmark.Bar("container start + boot / host boot (for the record)", (Benchmark.Median(boots) + Benchmark.Median(starts)) / hostBoot, double.PositiveInfinity);
        return ok ? 0 : 1;
    }
}
