using System.Text;

namespace Yakiros.VmFixtures;

/// <summary>
/// Follows the guest's serial console log file: keeps the text, finds badness as it arrives, reports a kernel
/// panic at once through <paramref name="onFatal"/>, and lets callers wait for a line.
/// </summary>
public sealed class GuestConsole : IAsyncDisposable
{
    private readonly string _path;
    private readonly Action<ConsoleFinding> _onFatal;
    private readonly StringBuilder _text = new();
    private readonly List<ConsoleFinding> _findings = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _follower;
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _scannedUpTo;
    private long _consumedBytes;

    public GuestConsole(string path, Action<ConsoleFinding> onFatal)
    {
        _path = path;
        _onFatal = onFatal;
        _follower = Task.Run(FollowAsync);
    }

    public string LogPath => _path;

    public string Text { get { lock (_gate) return _text.ToString(); } }

    public IReadOnlyList<ConsoleFinding> Findings { get { lock (_gate) return _findings.ToList(); } }

    /// <summary>The last <paramref name="lines"/> lines, for failure messages.</summary>
    public string Tail(int lines = 30) => LastLines(Text, lines);

    /// <summary>The last <paramref name="count"/> lines of <paramref name="text"/>, without carriage returns.</summary>
    public static string LastLines(string text, int count)
    {
        var all = text.Replace("\r", "").TrimEnd().Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - count)));
    }

    /// <summary>Waits until the console holds <paramref name="marker"/> (after <paramref name="fromOffset"/>), and returns the offset after it.</summary>
    public async Task<int> WaitForAsync(string marker, int fromOffset, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var found = _text.ToString().IndexOf(marker, Math.Min(fromOffset, _text.Length), StringComparison.Ordinal);
                if (found >= 0) return found + marker.Length;
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken);
        }
    }

    public int Length { get { lock (_gate) return _text.Length; } }

    /// <summary>Waits (briefly) until everything in the log file has been read and scanned, e.g. after QEMU exited.</summary>
    public async Task CatchUpAsync(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline && File.Exists(_path) && new FileInfo(_path).Length > Interlocked.Read(ref _consumedBytes))
            await Task.Delay(10);
    }

    private async Task FollowAsync()
    {
        var buffer = new byte[64 * 1024];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        FileStream? stream = null;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                stream ??= TryOpen();
                var read = stream is null ? 0 : await stream.ReadAsync(buffer, _stop.Token);
                if (read > 0)
                {
                    Interlocked.Add(ref _consumedBytes, read);
                    var count = decoder.GetChars(buffer, 0, read, chars, 0);
                    Append(chars.AsSpan(0, count));
                    continue;
                }
                await Task.Delay(25, _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            if (stream is not null) await stream.DisposeAsync();
        }
    }

    private FileStream? TryOpen()
    {
        try
        {
            return new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    private void Append(ReadOnlySpan<char> chunk)
    {
        ConsoleFinding? fatal = null;
        TaskCompletionSource changed;
        lock (_gate)
        {
            _text.Append(chunk);
            // scan only complete lines, once each
            var text = _text.ToString();
            var lastNewline = text.LastIndexOf('\n');
            if (lastNewline >= _scannedUpTo)
            {
                var fresh = ConsoleBadness.Scan(text[_scannedUpTo..(lastNewline + 1)]);
                _findings.AddRange(fresh);
                fatal = fresh.FirstOrDefault(f => f.Fatal);
                _scannedUpTo = lastNewline + 1;
            }
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
        if (fatal is not null) _onFatal(fatal);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _follower;
        _stop.Dispose();
    }
}
