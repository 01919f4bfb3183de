using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Xunit.Abstractions;

namespace Yakiros.VmFixtures.Tests.SelfTests;

/// <summary>The harness reaches the guest over SSH and TCP, and captures its console.</summary>
[Collection(GuestVmCollection.Name)]
[Trait("Category", "Harness")]
public sealed class GuestChannelTests(StandInVmFixture fixture, ITestOutputHelper output)
{
    private VirtualMachine Vm => fixture.Vm;

    [SkippableFact]
    public async Task Ssh_round_trip_returns_exit_code_stdout_and_stderr()
    {
        var result = await Vm.Shell.RunAsync("echo to-stdout; echo to-stderr >&2; exit 3");

        result.ExitCode.Should().Be(3);
        result.Stdout.Should().Be("to-stdout\n");
        result.Stderr.Should().Be("to-stderr\n");
        output.WriteLine($"round trip {result.Duration.TotalMilliseconds:F0} ms; guest booted in {Vm.BootTime.TotalSeconds:F2} s with {Vm.Accelerator}");
    }

    [SkippableFact]
    public async Task The_stand_in_init_is_PID_1_and_processes_orphaned_by_ssh_never_reach_it()
    {
        var pid1 = await Vm.Shell.SucceedAsync("cat /proc/1/comm");
        // The shell exits at once; its background sleep is orphaned and adopted by the nearest subreaper.
        var orphan = await Vm.Shell.SucceedAsync("sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!'");
        var adopter = await Vm.Shell.WaitUntilSucceedsAsync(
            $"p=$(ps -o ppid= -p {orphan.Stdout.Trim()} | tr -d ' '); [ -n \"$p\" ] && echo \"$p $(cat /proc/$p/comm)\"", TimeSpan.FromSeconds(10));

        pid1.Stdout.Trim().Should().Be("tini", "the stand-in init is tini as PID 1");
        var (adopterPid, adopterName) = (adopter.Stdout.Split(' ')[0], adopter.Stdout.Split(' ')[1].Trim());
        adopterPid.Should().NotBe("1", "an orphan of an SSH session must never become a child of the init under test");
        adopterName.Should().Be("tini", "the harness's subreaper adopts it");
        await Vm.Shell.RunAsync($"kill {orphan.Stdout.Trim()}");
    }

    [SkippableFact]
    public async Task A_payload_given_at_start_is_in_the_guest_root_with_its_mode()
    {
        var probe = await Vm.Shell.SucceedAsync(StandInVmFixture.PayloadProbe);
        var mode = await Vm.Shell.SucceedAsync($"stat -c %a {StandInVmFixture.PayloadProbe}");

        probe.Stdout.Should().Be("payload-ok\n");
        mode.Stdout.Trim().Should().Be("755");
    }

    [SkippableFact]
    public async Task A_failing_command_that_must_succeed_says_what_it_printed()
    {
        var act = () => Vm.Shell.SucceedAsync("echo partial; ls /no/such/path");

        (await act.Should().ThrowAsync<GuestCommandFailedException>())
            .WithMessage("*exited 2*partial*No such file or directory*");
    }

    [SkippableFact]
    public async Task A_wait_that_never_succeeds_ends_at_its_deadline_with_the_last_output()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var act = () => Vm.Shell.WaitUntilSucceedsAsync("echo still-waiting-for-godot; false", TimeSpan.FromSeconds(2));

        (await act.Should().ThrowAsync<GuestTimeoutException>()).WithMessage("*within 2 s*still-waiting-for-godot*");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
    }

    [SkippableFact]
    public async Task Upload_and_download_keep_every_byte()
    {
        var content = RandomNumberGenerator.GetBytes(300_000);

        await Vm.Shell.UploadAsync(new MemoryStream(content), "/tmp/blob.bin", "600");
        var guestHash = await Vm.Shell.SucceedAsync("sha256sum /tmp/blob.bin | cut -d' ' -f1");
        var back = await Vm.Shell.DownloadAsync("/tmp/blob.bin");

        guestHash.Stdout.Trim().Should().Be(Convert.ToHexStringLower(SHA256.HashData(content)));
        back.Should().Equal(content);
    }

    [SkippableFact]
    public async Task A_followed_command_gives_its_lines_as_they_come_and_is_ended_at_the_line_asked_for()
    {
        var seen = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var found = await Vm.Shell.FollowAsync("echo line-1; sleep 1; echo line-2; exec sleep 4343", line =>
        {
            seen.Add(line);
            return line == "line-2";
        }, TimeSpan.FromSeconds(30));
        var ended = await Vm.Shell.FollowAsync("echo only", _ => false, TimeSpan.FromSeconds(10));

        found.Should().BeTrue();
        seen.Should().Equal("line-1", "line-2");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the follow ends at line-2, not when the command would (it sleeps 4343 s)");
        ended.Should().BeFalse("a command that ends before its line came gives false");
        await Vm.Shell.WaitUntilSucceedsAsync("! pgrep -f '^sleep 4343$'", TimeSpan.FromSeconds(5)); // SIGTERM ended the followed command
    }

    [SkippableFact]
    public async Task Files_uploaded_together_arrive_with_their_text_and_replace_empties_the_folder_first()
    {
        await Vm.Shell.SucceedAsync("mkdir -p /tmp/batch && echo old > /tmp/batch/stale.toml");

        await Vm.Shell.UploadFilesAsync("/tmp/batch", [("a.toml", "name = \"a\"\n"), ("b.sh", "echo ✓ b\n")], replace: true);
        var listing = await Vm.Shell.SucceedAsync("cd /tmp/batch && for f in *; do printf '%s %s ' \"$f\" \"$(stat -c %a \"$f\")\"; cat \"$f\"; done");

        listing.Stdout.Should().Be("a.toml 644 name = \"a\"\nb.sh 644 echo ✓ b\n");
    }

    [SkippableFact]
    public async Task Tcp_reaches_a_guest_listener_through_its_forwarded_port()
    {
        await Vm.Shell.SucceedAsync(
            $"setsid socat TCP-LISTEN:{StandInVmFixture.EchoPort},reuseaddr,fork EXEC:cat </dev/null >/dev/null 2>&1 &");
        await Vm.Shell.WaitForOpenPortAsync(StandInVmFixture.EchoPort, TimeSpan.FromSeconds(10));

        using var client = await Vm.ConnectTcpAsync(StandInVmFixture.EchoPort);
        var stream = client.GetStream();
        var message = Encoding.ASCII.GetBytes("ping through the forward 12345\n");
        await stream.WriteAsync(message);
        var echoed = await ReadExactlyAsync(stream, message.Length, TimeSpan.FromSeconds(10));

        Encoding.ASCII.GetString(echoed).Should().Be("ping through the forward 12345\n");
        output.WriteLine($"guest port {StandInVmFixture.EchoPort} is 127.0.0.1:{Vm.HostPortFor(StandInVmFixture.EchoPort)} on the host");
    }

    [SkippableFact]
    public async Task The_console_log_captures_boot_and_live_kernel_messages()
    {
        var marker = $"yakiros-selftest-{Guid.NewGuid():N}";
        var from = Vm.Console.Length;

        await Vm.Shell.SucceedAsync($"echo '<2>{marker}' > /dev/kmsg");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Vm.Console.WaitForAsync(marker, from, deadline.Token);

        Vm.Console.Text.Should().Contain(VirtualMachine.SshReadyMarker).And.Contain("yakiros-harness: exec /usr/lib/yakiros-harness/standin-init");
        File.ReadAllText(Vm.Run.ConsoleLog).Should().Contain(marker, "the console is written to the run's log file");
        Vm.Console.Findings.Should().BeEmpty("a clean boot has no panic, oops or segfault");
    }

    private static async Task<byte[]> ReadExactlyAsync(NetworkStream stream, int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, deadline.Token);
        return buffer;
    }
}
