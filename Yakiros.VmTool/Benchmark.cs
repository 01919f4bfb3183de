using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Containers;

namespace Yakiros.VmTool;

/// <summary>
/// Measures, in one run on this machine: image build (cold and warm), raw QEMU boot-to-SSH against the harness's
/// boot-to-channel, a command on the persistent connection against a fresh `ssh` process, and a restore against a cold boot;
/// then the same guest in the container VM host (see <see cref="ContainerBenchmark"/>) when a Docker engine answers.
/// </summary>
internal static class Benchmark
{
    public static async Task<int> RunAsync(VmOptions options, string[] args, CancellationToken cancellationToken)
    {
        var cold = args.Contains("--cold");
        var rounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(3);
        var rows = new List<(string What, string Value)>();
        void Row(string what, string value) { rows.Add((what, value)); Console.WriteLine($"  {what}: {value}"); }
        options.VmHost = VmHostKind.Host;
        if (VmHosts.HostProblem(options) is { } hostProblem)
        {
            Row("host QEMU", $"not measured: {hostProblem}");
            return await ContainerBenchmark.RunAsync(options, rounds, null, Row, cancellationToken) ?? 3;
        }

        // 1. image build
        if (cold)
        {
            var scratch = Directory.CreateTempSubdirectory("yakiros-bench-cache-").FullName;
            try
            {
                var coldOptions = Clone(options, scratch);
                var builder = new GuestImageBuilder(coldOptions, l => Console.WriteLine($"    {l}"));
                var clock = Stopwatch.StartNew();
                await builder.EnsureAsync(cancellationToken);
                Row("image build, cold (empty cache)", $"{clock.Elapsed.TotalSeconds:F1} s (rootfs {builder.RootfsBuildTime.TotalSeconds:F1} s + image {builder.ImageBuildTime.TotalSeconds:F1} s)");
                Directory.Delete(builder.CachedImage.Directory, recursive: true);
                clock.Restart();
                await new GuestImageBuilder(coldOptions).EnsureAsync(cancellationToken);
                Row("image build, recipe changed outside rootfs/ (rootfs cached)", $"{clock.Elapsed.TotalSeconds:F1} s");
            }
            finally
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
        var warm = Stopwatch.StartNew();
        var image = await new GuestImageBuilder(options).EnsureAsync(cancellationToken);
        if (cold || warm.Elapsed > TimeSpan.FromSeconds(5))
        {
            warm.Restart();
            image = await new GuestImageBuilder(options).EnsureAsync(cancellationToken);
        }
        Row("image build, warm (cached)", $"{warm.Elapsed.TotalMilliseconds:F0} ms");

        var qemu = HostTools.RequireQemu(options);
        var accelerator = await AcceleratorProbe.ChooseAsync(options, qemu, image, cancellationToken);
        Row("accelerator", accelerator.ToString());

        // 2. raw QEMU boot to SSH vs the harness
        var raw = new List<double>();
        for (var i = 0; i < rounds; i++) raw.Add(await RawBootToSshAsync(options, qemu, accelerator.Accelerator, image, cancellationToken));
        var harness = new List<double>();
        var restores = new List<double>();
        var persistent = new List<double>();
        var fresh = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            await using var vm = await VirtualMachine.StartAsync(options, cancellationToken: cancellationToken);
            harness.Add(vm.BootTime.TotalSeconds);
            if (i > 0) continue;
            for (var n = 0; n < 3; n++) await vm.Shell.SucceedAsync("true", cancellationToken: cancellationToken); // warm the channel
            for (var n = 0; n < 20; n++) persistent.Add((await vm.Shell.SucceedAsync("true", cancellationToken: cancellationToken)).Duration.TotalSeconds);
            for (var n = 0; n < 5; n++) fresh.Add(await FreshSshAsync(vm.Shell.Endpoint, cancellationToken));
            await vm.SnapshotAsync("bench", cancellationToken);
            for (var n = 0; n < 5; n++)
            {
                await vm.Shell.SucceedAsync("touch /root/dirty", cancellationToken: cancellationToken);
                await vm.RestoreAsync("bench", cancellationToken);
                restores.Add(vm.LastRestoreTime.TotalSeconds);
            }
        }

        double rawMedian = Median(raw), harnessMedian = Median(harness), restoreMedian = Median(restores);
        double persistentMedian = Median(persistent), freshMedian = Median(fresh);
        Row("raw QEMU start -> `ssh true` works (fresh ssh process)", Describe(raw, "s"));
        Row("harness QEMU start -> SSH channel open", Describe(harness, "s"));
        Row("command on the persistent connection (`true`)", Describe(persistent.Select(x => x * 1000).ToList(), "ms"));
        Row("fresh `ssh ... true` process", Describe(fresh.Select(x => x * 1000).ToList(), "ms"));
        Row("restore (loadvm -> SSH channel open)", Describe(restores, "s"));

        Console.WriteLine();
        Console.WriteLine("bar (issue 2)                                         measured  limit  verdict");
        var ok = true;
        ok &= Bar("harness boot / raw boot-to-SSH", harnessMedian / rawMedian, 1.3);
        ok &= Bar("persistent command / fresh ssh", persistentMedian / freshMedian, 0.1);
        ok &= Bar("restore / cold boot (harness)", restoreMedian / harnessMedian, 0.3);
        Console.WriteLine();
        ok &= await ContainerBenchmark.RunAsync(options, rounds, persistentMedian, Row, cancellationToken) is null or 0;
        return ok ? 0 : 1;
    }

    internal static bool Bar(string what, double ratio, double limit)
    {
        var pass = ratio <= limit;
        Console.WriteLine($"  {what,-50} {ratio,7:F3}  {limit,5:F2}  {(pass ? "ok" : "MISSED")}");
        return pass;
    }

    /// <summary>Plain QEMU with the harness's arguments, overlapping banner probes, then fresh `ssh true` until it works.</summary>
    private static async Task<double> RawBootToSshAsync(VmOptions options, string qemu, Accelerator accelerator, GuestImage image, CancellationToken cancellationToken)
    {
        var run = RunDirectory.Create(options.ResolvedRunsDir);
        await ProcessRunner.RunAsync(HostTools.Require(HostTools.QemuImg), QemuCommandLine.OverlayArgs(image, run), null, cancellationToken);
        var forwards = HostPorts.Allocate([22]);
        var endpoint = SshEndpoint.For(image, forwards[0].HostPort);
        var clock = Stopwatch.StartNew();
        await using var process = await QemuProcess.StartAsync(qemu, QemuCommandLine.Build(options, accelerator, image, run, forwards), run, cancellationToken);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(options.BootTimeout);
            var banner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var probes = new List<Task>();
            while (!banner.Task.IsCompleted)
            {
                probes.Add(ProbeBannerAsync(endpoint.Port, banner, deadline.Token));
                await Task.WhenAny(banner.Task, Task.Delay(250, deadline.Token));
            }
            while (await FreshSshAsync(endpoint, deadline.Token, throwOnFailure: false) < 0) { }
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await process.StopAsync(null, TimeSpan.Zero);
            run.Delete();
        }
    }

    private static async Task ProbeBannerAsync(int port, TaskCompletionSource banner, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            var buffer = new byte[64];
            var read = await client.GetStream().ReadAsync(buffer, timeout.Token);
            if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("SSH-2.0", StringComparison.Ordinal)) banner.TrySetResult();
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException) { }
    }

    /// <summary>Seconds for one `ssh ... true` process, or -1 when it failed and <paramref name="throwOnFailure"/> is false.</summary>
    private static async Task<double> FreshSshAsync(SshEndpoint endpoint, CancellationToken cancellationToken, bool throwOnFailure = true)
    {
        var knownHosts = Path.GetTempFileName();
        await File.WriteAllTextAsync(knownHosts, endpoint.KnownHostsLine + "\n", cancellationToken);
        try
        {
            var outcome = await ProcessRunner.RunAsync("ssh", ["-i", endpoint.PrivateKeyPath, "-p", endpoint.Port.ToString(), "-o", $"UserKnownHostsFile={knownHosts}",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", $"{SshEndpoint.User}@127.0.0.1", "true"], null, cancellationToken);
            if (outcome.ExitCode == 0) return outcome.Duration.TotalSeconds;
            if (throwOnFailure) throw new VmException($"ssh failed: {outcome.TailText}");
            return -1;
        }
        finally
        {
            File.Delete(knownHosts);
        }
    }

    internal static VmOptions Clone(VmOptions o, string? cacheDir) => new()
    {
        MemoryMb = o.MemoryMb, Cpus = o.Cpus, Accelerator = o.Accelerator, CacheDir = cacheDir, BootTimeoutSeconds = o.BootTimeoutSeconds,
        QemuBinary = o.QemuBinary, GuestConfigDir = o.GuestConfigDir, RunsDir = o.RunsDir, VmHost = o.VmHost, ContainerBaseImage = o.ContainerBaseImage,
    };

    internal static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    internal static string Describe(IReadOnlyList<double> values, string unit) =>
        $"median {Median(values):F2} {unit} (min {values.Min():F2}, max {values.Max():F2}, n={values.Count})";
}
