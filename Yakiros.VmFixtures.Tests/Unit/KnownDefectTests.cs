using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmFixtures.Tests.Unit;

/// <summary>
/// The known-defect marker, per defect: a failure whose evidence carries the defect's signature is a known defect;
/// a failure in the same test with other evidence (the next real defect, a harness timeout, text the test wrote)
/// is red and shows both the actual failure and the signature it missed; a pass is red with "no longer reproduces".
/// Evidence samples are YakirOS's own output for the defect (format strings from its source, replies from runs),
/// and near misses are what a build with that defect fixed, or broken otherwise, produces in the same test.
/// </summary>
[Trait("Category", "Unit")]
public sealed class KnownDefectTests
{
    private const string Log = "[  41.201337] [43210.123] graph-resolver ";

    /// <summary>Per defect: evidence YakirOS produces for it, and a near miss that must not count as it.</summary>
    public static TheoryData<string, string, string> Evidence => new()
    {
        { "YK-001", "PID 1 did not answer `status` on /run/graph-resolver.sock within 5 s. PID 1: comm=graph-resolver State: S (sleeping) wchan=pipe_read syscall=0 0x3 0x7ffc5ebda98b",
                    "PID 1 did not answer `status` on /run/graph-resolver.sock within 5 s. PID 1: comm=graph-resolver State: S (sleeping) wchan=do_epoll_wait syscall=232 0x5 0x7ffc" },
        { "YK-002", "connect (is graph-resolver running?): No such file or directory\n", "connect (is graph-resolver running?): Connection refused\n" },
        { "YK-003", $"{Log}<WARN> mount tmpfs on /run failed: Invalid argument\n{Log}<WARN> mount devpts on /dev/pts failed: Invalid argument",
                    $"{Log}<INFO> mounted tmpfs on /run\n{Log}<INFO> mounted devpts on /dev/pts" },
        { "YK-004", "[   52.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", "The guest died: QEMU exited with code 1" },
        { "YK-005", "✓ Graph validation passed\n  No dependency cycles detected\n  All components have valid configurations\n",
                    "✗ Graph validation failed\n  Dependency cycle detected\n" },
        { "YK-006", "Components:               9\nMax Dependency Depth:     0\nStrongly Connected Comp:  0\n",
                    "Components:               9\nMax Dependency Depth:     3\nStrongly Connected Comp:  0\n" },
        { "YK-007", $"{Log}<WARN> failed to enable cgroup controllers at root: Invalid argument",
                    $"{Log}<INFO> enabled cgroup controllers for /sys/fs/cgroup/graph\n{Log}<WARN> failed to apply resource limits to cgroup for test-isolated-service" },
        { "YK-008", $"{Log}<WARN> kernel magic bytes not recognized (0x00000000)\n{Log}<WARN> proceeding with validation anyway - kernel may still be valid",
                    $"{Log}<ERR> kernel file too small (1004 bytes, minimum 524288): /tmp/zero-kernel" },
        { "YK-009", "=== LIVE KERNEL UPGRADE INITIATED ===\nTarget kernel: --help\nInitrd: none\n", "Error: unknown kexec option '--help'\nUsage: kexec --dry-run <kernel>\n" },
        { "YK-010", $"{Log}<ERR> upgrade: FD-passing handoff completion failed for 'test-echo-server'\n{Log}<WARN> upgrade: FD-passing failed for 'test-echo-server', falling back to restart\n" +
                    "1764430000.1 pid=170 handoff: SIGUSR1, no handoff channel: nothing passed, exiting",
                    $"{Log}<INFO> upgrade: FD-passing hot-swap successful for 'test-echo-server'\n1764430000.1 pid=170 handoff: SIGUSR1, passed listening socket and 1 connection(s) over fd 4, exiting" },
        { "YK-011", $"{Log}<ERR> CRIU checkpoint failed for process 231\n{Log}<ERR> CRIU output: Failed to execute CRIU: Bad address",
                    $"{Log}<ERR> CRIU command failed with exit code 1\n{Log}<ERR> checkpoint: failed to checkpoint 'test-stateful-service': Restore operation failed" },
        { "YK-012", "Error: component 'list test-stateful-service' not found\nError: component 'rm test-stateful-service 1764430000' not found",
                    "Available checkpoints for test-stateful-service:\n  (none)\nError: checkpoint 1764430000 not found" },
        { "YK-013", $"{Log}<INFO> restore: terminating current process 231 for 'test-stateful-service'\n{Log}<ERR> Checkpoint directory does not exist: /var/lib/graph/checkpoints/test-stateful-service/123",
                    $"{Log}<ERR> Checkpoint directory does not exist: /var/lib/graph/checkpoints/test-stateful-service/123" },
        { "YK-014", "ns/pid pid:[4026531836] PID 1's pid:[4026531836] pid_for_children pid:[4026532118] NSpid:\t240",
                    "ns/pid pid:[4026531836] PID 1's pid:[4026531836] pid_for_children pid:[4026531836] NSpid:\t240" },
        { "YK-015", "new instance holds a connection of /run/graph-resolver.sock: socket:[11873]", "(the new instance holds no control connection)" },
        { "YK-016", "renamed file on disk: yes; `graph.d changed, reloading` logged since the rename: 0",
                    "renamed file on disk: yes; `graph.d changed, reloading` logged since the rename: 1" },
        { "YK-017", $"{Log}<ERR> component 'memory-hog' hit OOM limit, marking as failed\nhog instances alive after the restart: 2",
                    $"{Log}<ERR> component 'memory-hog' hit OOM limit, marking as failed\nhog instances alive after the restart: 0" },
        { "YK-018", "✓ Dry run successful - kexec would proceed with kernel: /boot/vmlinuz\n  - Kernel validation: PASSED\n  - System readiness: READY\n",
                    "✓ Dry run successful - kexec would proceed with kernel: /boot/vmlinuz\n  - Kernel validation: PASSED\n  Phase 1: Validation\n  Phase 2: Pre-kexec info\n" },
        { "YK-019", $"{Log}<INFO> attempting to restart failed component 'loss-dependent'\nfirst instance pid 311 after the dependent's restart: alive",
                    $"{Log}<INFO> attempting to restart failed component 'loss-dependent'\nfirst instance pid 311 after the dependent's restart: gone" },
        { "YK-020", $"{Log}<ERR> component 'stubborn-health' failed after 2 consecutive health failures - restarting\ninstance pid 402 that ignores SIGTERM, 16.0 s (guest clock) after the resolver gave up on it: alive",
                    $"{Log}<ERR> component 'stubborn-health' failed after 2 consecutive health failures - restarting\ninstance pid 402 that ignores SIGTERM, 16.0 s (guest clock) after the resolver gave up on it: gone" },
        { "YK-021", "CAPABILITY                     STATUS  PROVIDER\nkernel.memory                  UP      kernel\nearly.job                      UP      early-job\n",
                    "CAPABILITY                     STATUS  PROVIDER\nkernel.memory                  UP      kernel\nunrelated.cap                  UP      unrelated\n" },
        { "YK-022", "[ RUN      ] checkpoint_metadata_save_load\n  \u001b[31mFAIL\u001b[0m: tests/unit/test_checkpoint.c:191: Expected 0, got 1795974826\n",
                    "[ RUN      ] checkpoint_metadata_save_load\n  \u001b[31mFAIL\u001b[0m: tests/unit/test_checkpoint.c:205: Expected 1, got 0\n" },
    };

    [Theory]
    [MemberData(nameof(Evidence))]
    public async Task A_failure_with_the_defects_evidence_is_reported_as_that_known_defect(string id, string evidence, string nearMiss)
    {
        _ = nearMiss;
        var defect = KnownDefects.All.Single(d => d.Id == id);

        var act = () => KnownDefect.ExpectAsync(defect, true, Fail, () => Task.FromResult(evidence));

        var skip = await act.Should().ThrowAsync<global::Xunit.SkipException>();
        skip.Which.Message.Should().StartWith($"KNOWN DEFECT {id}: {defect.Title}. Reproduced: ").And.Contain($"Evidence: {defect.Evidence}.");
    }

    [Theory]
    [MemberData(nameof(Evidence))]
    public async Task A_failure_without_the_defects_evidence_is_red_and_shows_the_failure_and_the_missed_signature(string id, string evidence, string nearMiss)
    {
        _ = evidence;
        var defect = KnownDefects.All.Single(d => d.Id == id);

        var act = () => KnownDefect.ExpectAsync(defect, true, Fail, () => Task.FromResult(nearMiss));

        var red = await act.Should().ThrowAsync<KnownDefectVerdictException>();
        red.Which.Message.Should().Contain($"Fails without the evidence of known defect {id}").And.Contain(defect.Signature)
            .And.Contain("Actual failure: the check failed for its own reason").And.Contain(nearMiss.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim());
    }

    [Theory]
    [MemberData(nameof(Evidence))]
    public async Task A_pass_is_red_with_no_longer_reproduces(string id, string evidence, string nearMiss)
    {
        _ = nearMiss;
        var defect = KnownDefects.All.Single(d => d.Id == id);

        var act = () => KnownDefect.ExpectAsync(defect, true, () => Task.CompletedTask, () => Task.FromResult(evidence));

        (await act.Should().ThrowAsync<KnownDefectVerdictException>()).Which.Message.Should().Contain($"Known defect {id}").And.Contain("no longer reproduces");
    }

    [Fact]
    public void Every_defect_has_evidence_samples_and_a_unique_id()
    {
        var sampled = Evidence.Select(row => (string)row[0]).ToList();
        KnownDefects.All.Select(d => d.Id).Should().OnlyHaveUniqueItems().And.BeEquivalentTo(sampled);
    }

    [Fact]
    public async Task With_markers_off_the_checks_run_raw()
    {
        var act = () => KnownDefect.ExpectAsync(KnownDefects.CriuExecArgv, false, Fail, () => throw new InvalidOperationException("evidence is not read"));

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Be("the check failed for its own reason");
    }

    [Fact]
    public async Task Evidence_that_cannot_be_collected_is_red_not_a_known_defect()
    {
        var act = () => KnownDefect.ExpectAsync(KnownDefects.CriuExecArgv, true, Fail, () => throw new GuestDiedException("QEMU exited"));

        (await act.Should().ThrowAsync<KnownDefectVerdictException>()).Which.Message.Should().Contain("the evidence could not be collected: QEMU exited");
    }

    private static Task Fail() => throw new InvalidOperationException("the check failed for its own reason");
}
