using System.Diagnostics;

namespace Yakiros.VmFixtures;

/// <summary>Runs a host program, streaming its merged output line by line, and keeps the tail for error messages.</summary>
public static class ProcessRunner
{
    public sealed record Outcome(int ExitCode, IReadOnlyList<string> Tail, TimeSpan Duration)
    {
        public string TailText => string.Join('\n', Tail);
    }

    public static async Task<Outcome> RunAsync(
        string fileName, IEnumerable<string> arguments, Action<string>? onLine, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null, int tailLines = 40)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        if (environment is not null)
            foreach (var (key, value) in environment) start.Environment[key] = value;

        var tail = new Queue<string>();
        var gate = new object();
        void Line(string? line)
        {
            if (line is null) return;
            lock (gate)
            {
                tail.Enqueue(line);
                if (tail.Count > tailLines) tail.Dequeue();
                onLine?.Invoke(line);
            }
        }

        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PrerequisiteMissingException($"Cannot start '{fileName}': {e.Message}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        process.WaitForExit(); // drains the redirected streams
        lock (gate) return new Outcome(process.ExitCode, tail.ToList(), clock.Elapsed);
    }
}
