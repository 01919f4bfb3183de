using System.Diagnostics;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>
/// `yakiros-vmtool guard-demo` as a separate test host: it starts an idle QEMU (on the host or in a container),
/// prints what it started, and is then killed with SIGKILL by the test.
/// </summary>
internal sealed class GuardDemoHost : IDisposable
{
    private readonly Process _process;

    private GuardDemoHost(Process process) => _process = process;

    /// <summary>"key value" lines printed before it settled: qemu-pid, and container for a container host.</summary>
    public Dictionary<string, string> Printed { get; } = [];

    public int QemuPid => int.Parse(Printed["qemu-pid"]);

    public static async Task<GuardDemoHost> StartAsync(TimeSpan timeout, params string[] arguments)
    {
        var tool = Path.Combine(AppContext.BaseDirectory, "Yakiros.VmTool.dll");
        var process = Process.Start(new ProcessStartInfo("dotnet", [tool, "guard-demo", .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var host = new GuardDemoHost(process);
        using var deadline = new CancellationTokenSource(timeout);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        while (!host.Printed.ContainsKey("qemu-pid"))
        {
            var line = await process.StandardOutput.ReadLineAsync(deadline.Token);
            if (line is null)
            {
                host.KillWithSigkill();
                throw new InvalidOperationException($"guard-demo ended before it printed qemu-pid: {await stderr}");
            }
            var space = line.IndexOf(' ');
            if (space > 0) host.Printed[line[..space]] = line[(space + 1)..];
        }
        return host;
    }

    /// <summary>SIGKILL: no finally blocks, no dispose, no exit handlers in the host.</summary>
    public void KillWithSigkill()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit();
    }

    /// <summary>Waits up to <paramref name="timeout"/> for <paramref name="gone"/>; returns how long it took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<Task<bool>> gone, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await gone() && clock.Elapsed < timeout) await Task.Delay(100);
        return clock.Elapsed;
    }

    public void Dispose()
    {
        KillWithSigkill();
        _process.Dispose();
    }
}
