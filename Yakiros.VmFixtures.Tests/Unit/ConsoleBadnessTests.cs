namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ConsoleBadnessTests
{
    [Fact]
    public void A_kernel_panic_is_fatal()
    {
        var findings = ConsoleBadness.Scan("""
            [    2.100000] Run /init as init process
            [    5.012345] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100
            [    5.012400] CPU: 0 PID: 1 Comm: true Not tainted 6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2
            """);

        findings.Should().ContainSingle().Which.Should().Be(new ConsoleFinding(
            "kernel panic", "[    5.012345] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100", true));
    }

    [Fact]
    public void The_sysrq_crash_panic_is_fatal() =>
        ConsoleBadness.Scan("[   30.1] Kernel panic - not syncing: sysrq triggered crash\r\n").Should().ContainSingle(f => f.Fatal);

    [Theory]
    [InlineData("[ 12.3] BUG: kernel NULL pointer dereference, address: 0000000000000008", "kernel BUG")]
    [InlineData("[ 12.3] Oops: 0002 [#1] PREEMPT SMP NOPTI", "kernel oops")]
    [InlineData("[ 12.3] general protection fault, probably for non-canonical address", "general protection fault")]
    [InlineData("[ 99.0] INFO: task graph-resolver:1 blocked for more than 120 seconds.", "hung task")]
    [InlineData("[  7.7] test-echo[231]: segfault at 0 ip 000055d0c1 sp 00007ffd error 4 in test-echo[55d0c0+1000]", "segfault")]
    [InlineData("[  8.8] Out of memory: Killed process 312 (memory-hog)", "out of memory kill")]
    public void Other_badness_is_recorded_but_not_fatal(string line, string kind) =>
        ConsoleBadness.Scan(line).Should().ContainSingle().Which.Should().Match<ConsoleFinding>(f => f.Kind == kind && !f.Fatal);

    [Theory]
    [InlineData("yakiros-harness: ssh ready")]
    [InlineData("Server listening on 0.0.0.0 port 22.")]
    [InlineData("echo 'no panic here' # Kernel panic docs")]
    [InlineData("DEBUG: oopsie in a user message")]
    public void Ordinary_lines_are_not_badness(string line) => ConsoleBadness.Scan(line).Should().BeEmpty();
}
