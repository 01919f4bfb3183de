using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// Routes the harness around known defect YK-001 (PID 1 blocks in read() on its blocking SIGCHLD self-pipe), so that
/// one defect does not hide every other result. From outside PID 1: take a duplicate of the pipe's read end with
/// pidfd_getfd (same open file description), set O_NONBLOCK on it, and write one byte into the write end. PID 1's
/// blocked read returns, its drain loop gets EAGAIN and the main loop runs again, as with the one-line fix.
/// The Basic test for YK-001 asserts what was observed at boot, before this ran.
/// </summary>
public static class SigchldFreezeWorkaround
{
    private const string Script = """
        import ctypes, fcntl, os, sys
        fields = open('/proc/1/syscall').read().split()
        if fields[0] != '0':
            sys.exit('PID 1 is not blocked in read() (syscall %s); nothing to do' % fields[0])
        rfd = int(fields[1], 16)
        target = os.readlink('/proc/1/fd/%d' % rfd)
        if not target.startswith('pipe:'):
            sys.exit('PID 1 blocks reading fd %d = %s, not a pipe' % (rfd, target))
        wfd = [int(fd) for fd in os.listdir('/proc/1/fd') if int(fd) != rfd and os.readlink('/proc/1/fd/' + fd) == target][0]
        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(1)
        r = libc.syscall(438, pidfd, rfd, 0)   # pidfd_getfd
        w = libc.syscall(438, pidfd, wfd, 0)
        if r < 0 or w < 0:
            sys.exit('pidfd_getfd failed: ' + os.strerror(ctypes.get_errno()))
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
        os.write(w, b'x')
        print('PID 1 unblocked: its SIGCHLD pipe %s (fd %d) is now O_NONBLOCK' % (target, rfd))
        """;

    public static async Task<string> ApplyAsync(GuestShell shell, CancellationToken cancellationToken)
    {
        await shell.UploadAsync(Script, "/run/yakiros-harness-sigchld-workaround.py", cancellationToken: cancellationToken);
        var result = await shell.RunAsync("python3 /run/yakiros-harness-sigchld-workaround.py", TimeSpan.FromSeconds(20), cancellationToken);
        return result.Succeeded
            ? result.Stdout.Trim()
            : throw new GuestCommandFailedException($"The YK-001 workaround failed: {result.Describe()}", result);
    }
}
