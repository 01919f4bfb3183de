using System.Collections.Concurrent;
using System.Diagnostics;

namespace Yakiros.VmFixtures;

/// <summary>The accelerator a VM runs with, and why it was chosen.</summary>
public sealed record AcceleratorChoice(Accelerator Accelerator, string Reason)
{
    public override string ToString() => $"{Accelerator.ToString().ToLowerInvariant()} ({Reason})";
}

/// <summary>
/// Chooses KVM or TCG by trying KVM for real: a present /dev/kvm proves nothing (on nested PVM hosts QEMU aborts
/// or the kernel never prints). The probe boots the image's kernel under KVM and waits for its first console line.
/// </summary>
public static class AcceleratorProbe
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(8);
    private static readonly ConcurrentDictionary<string, AcceleratorChoice> Cache = new();

    public static Task<AcceleratorChoice> ChooseAsync(VmOptions options, string qemu, GuestImage image, CancellationToken cancellationToken) =>
        ChooseAsync(options, $"{qemu}|{image.Kernel}", token => TryKvmBootAsync(qemu, image, token), cancellationToken);

    /// <summary>
    /// The choice for one place QEMU runs (<paramref name="key"/>): <paramref name="tryKvm"/> boots the kernel under KVM
    /// there and returns null when it printed, else what went wrong. Asked once per key and process.
    /// </summary>
    public static async Task<AcceleratorChoice> ChooseAsync(VmOptions options, string key, Func<CancellationToken, Task<string?>> tryKvm,
        CancellationToken cancellationToken)
    {
        if (options.Accelerator == Accelerator.Tcg) return new(Accelerator.Tcg, "configured");
        key = $"{key}|{options.Accelerator}";
        if (Cache.TryGetValue(key, out var known)) return known;

        var failure = CannotOpenKvm() ?? await tryKvm(cancellationToken);
        AcceleratorChoice choice;
        if (failure is null) choice = new(Accelerator.Kvm, "KVM booted the kernel");
        else if (options.Accelerator == Accelerator.Kvm)
            throw new PrerequisiteMissingException($"YAKIROS_ACCELERATOR=kvm, but KVM does not work here: {failure}. Use YAKIROS_ACCELERATOR=auto or tcg.");
        else choice = new(Accelerator.Tcg, $"KVM unusable: {failure}");
        return Cache.GetOrAdd(key, choice);
    }

    /// <summary>QEMU arguments that boot the image's kernel alone under KVM, printing on standard output.</summary>
    public static IReadOnlyList<string> KvmProbeArguments(GuestImage image) =>
        [.. QemuCommandLine.AcceleratorArgs(Accelerator.Kvm), "-M", "pc", "-m", "256", "-nodefaults", "-no-user-config",
         "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", image.Kernel, "-append", "console=ttyS0 panic=-1"];

    /// <summary>What the kernel prints first: its presence on the console proves KVM ran it.</summary>
    public const string KernelBanner = "Linux version";

    public static bool CanOpenKvm() => CannotOpenKvm() is null;

    private static string? CannotOpenKvm()
    {
        try
        {
            using var kvm = File.Open("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot open /dev/kvm ({e.Message})";
        }
    }

    /// <summary>Null when the kernel printed under KVM; otherwise what went wrong.</summary>
    private static async Task<string?> TryKvmBootAsync(string qemu, GuestImage image, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in KvmProbeArguments(image)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var printed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data?.Contains(KernelBanner, StringComparison.Ordinal) == true) printed.TrySetResult(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync(cancellationToken);
            var first = await Task.WhenAny(printed.Task, exited, Task.Delay(ProbeTimeout, cancellationToken));
            if (first == printed.Task) return null;
            if (first == exited)
            {
                lock (stderr) return $"QEMU exited with code {process.ExitCode}: {FirstLine(stderr.ToString())}";
            }
            return $"no kernel output within {ProbeTimeout.TotalSeconds:0} s";
        }
        finally
        {
            try { process.Kill(); } catch (InvalidOperationException) { }
        }
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no message)";
}
