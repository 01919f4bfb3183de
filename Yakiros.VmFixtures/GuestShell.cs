using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Yakiros.VmFixtures;

/// <summary>
/// The guest channel: one persistent SSH connection (SSH.NET), each command on its own channel. Every operation has
/// a deadline and ends at once when the guest dies. The host key is pinned to the image's; password login is off.
/// </summary>
public sealed class GuestShell : IAsyncDisposable
{
    private static readonly TimeSpan DeathGrace = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly SshEndpoint _endpoint;
    private readonly GuestLifeline _lifeline;
    private SshClient? _client;

    public GuestShell(SshEndpoint endpoint, GuestLifeline lifeline)
    {
        _endpoint = endpoint;
        _lifeline = lifeline;
    }

    public SshEndpoint Endpoint => _endpoint;

    public bool IsConnected => _client?.IsConnected == true;

    /// <summary>(Re)connects, retrying while the guest's sshd is not up yet, until <paramref name="timeout"/>.</summary>
    public Task ConnectAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        string last = "no attempt yet";
        return _lifeline.RunAsync($"SSH connection to 127.0.0.1:{_endpoint.Port}", timeout, cancellationToken, async token =>
        {
            Disconnect();
            while (true)
            {
                var client = CreateClient();
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
                    attempt.CancelAfter(TimeSpan.FromSeconds(10));
                    await client.ConnectAsync(attempt.Token);
                    _client = client;
                    return true;
                }
                catch (SshAuthenticationException e)
                {
                    client.Dispose();
                    throw new VmException($"The guest refused the image's SSH key ({_endpoint.PrivateKeyPath}): {e.Message}. Rebuild the image (delete its cache folder).");
                }
                catch (Exception e) when (e is SshConnectionException or System.Net.Sockets.SocketException or SshOperationTimeoutException or IOException
                                              || (e is OperationCanceledException && !token.IsCancellationRequested))
                {
                    client.Dispose();
                    last = $"{e.GetType().Name}: {e.Message}";
                    await Task.Delay(100, token);
                }
                catch
                {
                    client.Dispose();
                    throw;
                }
            }
        }, () => last);
    }

    private SshClient CreateClient()
    {
        var info = new ConnectionInfo("127.0.0.1", _endpoint.Port, SshEndpoint.User,
            new PrivateKeyAuthenticationMethod(SshEndpoint.User, new PrivateKeyFile(_endpoint.PrivateKeyPath)));
        // Cheapest algorithms for a guest under software emulation; all three are OpenSSH defaults.
        Keep(info.KeyExchangeAlgorithms, "curve25519-sha256");
        Keep(info.HostKeyAlgorithms, "ssh-ed25519");
        Keep(info.Encryptions, "aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr");
        var client = new SshClient(info);
        var expected = _endpoint.HostKeyBlob;
        client.HostKeyReceived += (_, e) => e.CanTrust = e.HostKey.AsSpan().SequenceEqual(expected);
        return client;
    }

    private static void Keep<T>(IDictionary<string, T> algorithms, params string[] names)
    {
        foreach (var key in algorithms.Keys.Where(k => !names.Contains(k)).ToList()) algorithms.Remove(key);
    }

    public void Disconnect()
    {
        var client = _client;
        _client = null;
        if (client is null) return;
        try { client.Disconnect(); } catch (Exception e) when (e is SshException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { }
        client.Dispose();
    }

    /// <summary>
    /// The open connection. A connection that dropped is often a guest going down (a panic) a moment before the console
    /// says so: then the console's story is given that moment, and the error is the guest's death, not "not open".
    /// </summary>
    private async Task<SshClient> ClientAsync(string what)
    {
        if (_client is { IsConnected: true } client) return client;
        if (!_lifeline.IsDead && _client is not null)
            await Task.WhenAny(Task.Delay(DeathGrace, CancellationToken.None), Task.Delay(Timeout.Infinite, _lifeline.Token));
        throw _lifeline.IsDead ? _lifeline.DeathException(what) : new VmException("The SSH connection to the guest is not open (connect or reconnect first).");
    }

    /// <summary>Runs <paramref name="command"/> in the guest (/bin/sh) and returns its exit code, output and duration.</summary>
    public Task<CommandResult> RunAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default, Stream? stdin = null)
    {
        var clock = Stopwatch.StartNew();
        return _lifeline.RunAsync($"guest command `{command}`", timeout ?? DefaultTimeout, cancellationToken, async token =>
        {
            using var ssh = (await ClientAsync($"`{command}`")).CreateCommand(command);
            try
            {
                var running = ssh.ExecuteAsync(token);
                if (stdin is not null)
                {
                    await using (var input = ssh.CreateInputStream()) await stdin.CopyToAsync(input, token);
                }
                await running;
            }
            catch (SshConnectionException e) when (!_lifeline.IsDead)
            {
                // A guest that is going down (a panic, QEMU exiting) drops SSH a moment before the console says why: give it that moment.
                await Task.WhenAny(Task.Delay(DeathGrace, CancellationToken.None), Task.Delay(Timeout.Infinite, _lifeline.Token));
                if (_lifeline.IsDead) throw _lifeline.DeathException($"`{command}`");
                throw new VmException($"The SSH connection broke during `{command}`: {e.Message}\n--- console tail ---\n{_lifeline.ConsoleTail()}", e);
            }
            var stderr = ssh.Error;
            if (ssh.ExitStatus is null && ssh.ExitSignal is { } signal) stderr += $"[killed by signal {signal}]";
            return new CommandResult(command, ssh.ExitStatus ?? -1, ssh.Result, stderr, clock.Elapsed);
        });
    }

    /// <summary>
    /// Runs <paramref name="command"/> and gives each line of its output to <paramref name="onLine"/> as it comes, until
    /// onLine returns true (the command's process group is then killed) or the command ends: true when onLine said enough,
    /// false when the command ended first. One channel for a whole wait, where a poll opens one per look.
    /// </summary>
    public Task<bool> FollowAsync(string command, Func<string, bool> onLine, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _lifeline.RunAsync($"guest command `{command}`", timeout, cancellationToken, async token =>
        {
            // sshd makes each session's shell a process group leader; its pid comes first. (This sshd cannot deliver an
            // SSH "signal" request: it runs without privilege separation. No `--`: the guest shell's kill reads it as pid 0, its own group.)
            using var ssh = (await ClientAsync($"`{command}`")).CreateCommand($"echo $$; {command}");
            var running = ssh.ExecuteAsync(token);
            using var reader = new StreamReader(ssh.OutputStream, Encoding.UTF8);
            var group = await reader.ReadLineAsync(token);
            while (await reader.ReadLineAsync(token) is { } line)
            {
                if (!onLine(line)) continue;
                await RunAsync($"kill -TERM -{group}", TimeSpan.FromSeconds(10), token);
                await running;
                return true;
            }
            await running;
            return false;
        });

    /// <summary>Runs a command that must succeed; otherwise throws with its exit code and output.</summary>
    public async Task<CommandResult> SucceedAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(command, timeout, cancellationToken);
        return result.Succeeded ? result : throw new GuestCommandFailedException($"Guest command failed: {result.Describe()}", result);
    }

    /// <summary>Repeats <paramref name="command"/> until it succeeds; on the deadline, says what the last attempt printed.</summary>
    public async Task<CommandResult> WaitUntilSucceedsAsync(string command, TimeSpan timeout, CancellationToken cancellationToken = default, TimeSpan? interval = null)
    {
        CommandResult? last = null;
        return await HarnessTimes.WaitAsync(() => _lifeline.RunAsync($"waiting for `{command}` to succeed", timeout, cancellationToken, async token =>
        {
            while (true)
            {
                last = await RunAsync(command, timeout, token);
                if (last.Succeeded) return last;
                await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100), token);
            }
        }, () => last?.Describe() ?? "no attempt finished"));
    }

    /// <summary>Waits until something in the guest listens on TCP <paramref name="port"/> (checked in the guest's /proc/net/tcp*).</summary>
    public async Task WaitForOpenPortAsync(int port, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        // busybox applets: a static program costs the emulated guest about half of what a dynamically linked one does
        var check = $"busybox grep -qE ':{port:X4} [0-9A-F]+:[0-9A-F]{{4}} 0A' /proc/net/tcp /proc/net/tcp6";
        var result = await RunAsync($"timeout {seconds} sh -c \"until {check}; do busybox sleep 0.1; done\"", timeout + TimeSpan.FromSeconds(5), cancellationToken);
        if (!result.Succeeded)
            throw new GuestTimeoutException($"Nothing listened on guest TCP port {port} within {timeout.TotalSeconds:0.#} s ({result.Describe()}).");
    }

    /// <summary>
    /// What process <paramref name="pid"/> is doing, from /proc: "comm=… State: … wchan=… syscall=…" (name, state, kernel
    /// wait channel, current syscall), or "" when it is gone. Shell builtins only: under emulation each program the guest
    /// starts costs it about 80 ms, and this is asked while something is slow.
    /// </summary>
    public async Task<string> DescribeProcessAsync(int pid, CancellationToken cancellationToken = default)
    {
        var proc = $"/proc/{pid}";
        var probe = await RunAsync(
            $"[ -d {proc} ] || exit 0; read -r comm < {proc}/comm; read -r wchan < {proc}/wchan; read -r s1 s2 s3 _ < {proc}/syscall; " +
            $"while read -r key value; do [ \"$key\" = State: ] && state=$value; done < {proc}/status; " +
            "echo \"comm=$comm State: $state wchan=$wchan syscall=$s1 $s2 $s3\"",
            TimeSpan.FromSeconds(10), cancellationToken);
        return probe.Stdout.Trim();
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="guestPath"/> (through `cat`, on the same connection).</summary>
    public async Task UploadAsync(Stream content, string guestPath, string? mode = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        var path = ShellQuote.Quote(guestPath);
        var command = $"cat > {path}" + (mode is null ? "" : $" && chmod {mode} {path}");
        var result = await RunAsync(command, timeout ?? TimeSpan.FromSeconds(60), cancellationToken, content);
        if (!result.Succeeded) throw new GuestCommandFailedException($"Upload to {guestPath} failed: {result.Describe()}", result);
    }

    public Task UploadAsync(string text, string guestPath, string? mode = null, CancellationToken cancellationToken = default) =>
        UploadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), guestPath, mode, cancellationToken);

    /// <summary>
    /// Writes text files into <paramref name="guestDirectory"/> (made if missing; emptied first when <paramref name="replace"/>)
    /// with one guest command: a tar stream unpacked by busybox's static tar. Under emulation a command that starts `cat`
    /// costs the guest about 70 ms, and a test that installs 100 components would start 100 of them.
    /// </summary>
    public async Task UploadFilesAsync(string guestDirectory, IEnumerable<(string Name, string Text)> files, bool replace = false,
        CancellationToken cancellationToken = default)
    {
        using var archive = new MemoryStream();
        await using (var tar = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = DateTimeOffset.UtcNow,
                };
                await tar.WriteEntryAsync(entry, cancellationToken);
            }
        }
        archive.Position = 0;
        var directory = ShellQuote.Quote(guestDirectory);
        var result = await RunAsync($"{(replace ? $"rm -rf {directory} && " : "")}mkdir -p {directory} && busybox tar -x -f - -C {directory}",
            TimeSpan.FromSeconds(60), cancellationToken, archive);
        if (!result.Succeeded) throw new GuestCommandFailedException($"Upload to {guestDirectory} failed: {result.Describe()}", result);
    }

    /// <summary>Reads <paramref name="guestPath"/> byte for byte.</summary>
    public Task<byte[]> DownloadAsync(string guestPath, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        var command = $"cat -- {ShellQuote.Quote(guestPath)}";
        return _lifeline.RunAsync($"download of {guestPath}", timeout ?? TimeSpan.FromSeconds(60), cancellationToken, async token =>
        {
            using var ssh = (await ClientAsync($"download of {guestPath}")).CreateCommand(command);
            using var buffer = new MemoryStream();
            var running = ssh.ExecuteAsync(token);
            await ssh.OutputStream.CopyToAsync(buffer, token);
            await running;
            if (ssh.ExitStatus != 0)
                throw new GuestCommandFailedException($"Download of {guestPath} failed: {ssh.Error.Trim()}",
                    new CommandResult(command, ssh.ExitStatus ?? -1, "", ssh.Error, TimeSpan.Zero));
            return buffer.ToArray();
        });
    }

    public ValueTask DisposeAsync()
    {
        Disconnect();
        return ValueTask.CompletedTask;
    }
}
