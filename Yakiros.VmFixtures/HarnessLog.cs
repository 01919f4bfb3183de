namespace Yakiros.VmFixtures;

/// <summary>
/// Where the harness says what it does (image build, accelerator, boot times): standard error, which
/// `dotnet test` shows, and an optional file (YAKIROS_HARNESS_LOG).
/// </summary>
public static class HarnessLog
{
    private static readonly Lock Gate = new();

    public static void Write(string message)
    {
        var line = $"[yakiros-vm {DateTime.Now:HH:mm:ss.fff}] {message}";
        lock (Gate)
        {
            Console.Error.WriteLine(line);
            if (Environment.GetEnvironmentVariable("YAKIROS_HARNESS_LOG") is { Length: > 0 } file)
                File.AppendAllText(file, line + Environment.NewLine);
        }
    }
}
