using System.Text;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// What the guest looked like when a test failed: the serial console tail, the resolver's own log lines (it logs
/// to the kernel ring buffer as "graph-resolver &lt;level&gt;"), `graphctl status`, the rest of dmesg, and the
/// components' log files. Saved as files, and summarised for the test's output.
/// </summary>
public static class FailureArtifacts
{
    private const int DigestLines = 25;
    private static readonly TimeSpan CommandBudget = TimeSpan.FromSeconds(10);

    public static async Task<(string Directory, string Digest)> SaveAsync(VmOptions options, VirtualMachine? vm, string? noVmReason,
        string testDisplayName, CancellationToken cancellationToken)
    {
        var dir = RunResults.TestDirectory(options, testDisplayName);
        var files = new List<(string Name, string Text)>();
        if (vm is null)
        {
            files.Add(("no-vm.txt", noVmReason ?? "no VM was running"));
        }
        else
        {
            vm.MarkFailed(testDisplayName);
            files.Add(("console-tail.txt", vm.Console.Tail(200)));
            if (vm.DeathReason is { } died)
            {
                files.Add(("guest-died.txt", died));
            }
            else
            {
                files.Add(("graphctl-status.txt", await StatusAsync(vm, cancellationToken)));
                files.Add(("resolver-log.txt", await GuestAsync(vm, "dmesg | grep -F 'graph-resolver <' | tail -n 200", cancellationToken)));
                files.Add(("dmesg.txt", await GuestAsync(vm, "dmesg | grep -v -F 'graph-resolver <' | tail -n 100", cancellationToken)));
                files.Add(("component-logs.txt", await GuestAsync(vm, "for f in /run/graph/*.log; do [ -e \"$f\" ] && echo \"== $f\" && tail -n 30 \"$f\"; done", cancellationToken)));
            }
        }
        var digest = new StringBuilder();
        foreach (var (name, text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(dir, name), text, cancellationToken);
            digest.AppendLine($"--- {name} (last {DigestLines} lines; all in {Path.Combine(dir, name)}) ---");
            digest.AppendLine(GuestConsole.LastLines(text, DigestLines).TrimEnd());
        }
        return (dir, digest.ToString());
    }

    private static async Task<string> StatusAsync(VirtualMachine vm, CancellationToken cancellationToken)
    {
        try
        {
            return await GraphCtl.For(vm).SendAsync("status", cancellationToken: cancellationToken);
        }
        catch (VmException e)
        {
            return $"(status failed: {e.Message})";
        }
    }

    private static async Task<string> GuestAsync(VirtualMachine vm, string command, CancellationToken cancellationToken)
    {
        try
        {
            var result = await vm.Shell.RunAsync(command, CommandBudget, cancellationToken);
            return result.Stdout + result.Stderr;
        }
        catch (VmException e)
        {
            return $"(`{command}` failed: {e.Message})";
        }
    }
}
