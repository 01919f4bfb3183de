using Xunit.Abstractions;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>
/// Step 11, kexec, dry run only: the shared guest must never load or execute a kernel. Invalid kernels are rejected,
/// and a word that is not `--dry-run` must not start an upgrade. That last check is safe by construction: the
/// word names no file, so even a resolver that takes it for a kernel stops at its first validation phase, and its
/// reply shows whether it began an upgrade.
/// </summary>
[Trait("Category", Categories.Kexec)]
[Collection(YakirosCollection.Name)]
public sealed class KexecTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    [GuestFact]
    public async Task A_dry_run_rejects_a_kernel_that_is_too_small()
    {
        var (vm, ctl) = await GuestAsync();
        await vm.Shell.SucceedAsync("printf '\\177ELF' > /tmp/tiny-kernel && head -c 1000 /dev/zero >> /tmp/tiny-kernel");

        var reply = await ctl.SendAsync("kexec --dry-run /tmp/tiny-kernel", TimeSpan.FromSeconds(30));

        reply.Should().Contain("Dry run failed").And.Contain("Invalid kernel image", "a 1004-byte file cannot be a kernel");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-008")]
    public async Task A_dry_run_rejects_a_file_without_a_kernel_magic()
    {
        var (vm, ctl) = await GuestAsync();
        await vm.Shell.SucceedAsync("head -c 1048576 /dev/zero > /tmp/zero-kernel");

        var reply = await ctl.SendAsync("kexec --dry-run /tmp/zero-kernel", TimeSpan.FromSeconds(30));

        Output.WriteLine(reply);
        await ExpectDefectAsync(KnownDefects.KexecAcceptsUnknownMagic, () =>
        {
            reply.Should().Contain("Invalid kernel image", "1 MiB of zeros has no bzImage, ELF or compressed-kernel magic; reply: {0}", reply);
        }, ResolverLogTextAsync);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-009")]
    public async Task A_word_other_than_dry_run_does_not_start_an_upgrade()
    {
        var (vm, ctl) = await GuestAsync();
        // The safety net of this test: no file is called "--help", so no kernel can be loaded whatever the resolver does.
        (await vm.Shell.RunAsync("test -e /--help || test -e ./--help")).ExitCode.Should().NotBe(0);

        var reply = await ctl.SendAsync("kexec --help", TimeSpan.FromSeconds(30));

        Output.WriteLine(reply);
        await ExpectDefectAsync(KnownDefects.KexecOptionWordUpgrades, () =>
        {
            reply.Should().NotContain("LIVE KERNEL UPGRADE INITIATED", "`kexec --help` is not a request to boot a kernel called --help; reply: {0}", reply);
            reply.Should().NotContain("Phase 1", "no upgrade phase may run");
        }, reply);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-011")]
    [Trait("KnownDefect", "YK-018")]
    public async Task The_guests_own_kernel_passes_the_dry_run_with_its_seven_phases_listed()
    {
        var (vm, ctl) = await GuestAsync();
        var prerequisites = await KexecPrerequisites.MeetAsync(vm);

        var reply = await ctl.SendAsync($"kexec --dry-run {prerequisites.Kernel}", TimeSpan.FromSeconds(60));

        var loaded = (await vm.Shell.SucceedAsync("cat /sys/kernel/kexec_loaded")).Stdout.Trim();
        Output.WriteLine($"guest: {prerequisites}\nreply:\n{reply}");
        loaded.Should().Be("0", "a dry run never loads a kernel");
        await ExpectDefectAsync(KnownDefects.CriuExecArgv,
            () => reply.Should().Contain("Dry run successful", "every prerequisite holds in this guest ({0})", prerequisites), ResolverLogTextAsync);
        await ExpectDefectAsync(KnownDefects.KexecDryRunListsNoPhases, () =>
        {
            for (var phase = 1; phase <= 7; phase++)
                reply.Should().MatchRegex($"Phase {phase}\\b", "the dry run lists phase {0} of the seven-phase sequence", phase);
        }, reply);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-011")]
    public async Task The_prerequisites_report_names_each_prerequisite_that_is_not_met()
    {
        var (vm, ctl) = await GuestAsync();
        var prerequisites = await KexecPrerequisites.MeetAsync(vm);
        var dryRun = $"kexec --dry-run {prerequisites.Kernel}";

        await vm.Shell.SucceedAsync($"umount {KexecPrerequisites.CheckpointDir} && rmdir {KexecPrerequisites.CheckpointDir}");
        var noStorage = await ctl.SendAsync(dryRun, TimeSpan.FromSeconds(60));
        await KexecPrerequisites.MeetAsync(vm);
        await vm.Shell.SucceedAsync(GuestPrograms.HideCommand("kexec"));
        var noKexec = await ctl.SendAsync(dryRun, TimeSpan.FromSeconds(60));

        Output.WriteLine($"guest: {prerequisites}\nwithout {KexecPrerequisites.CheckpointDir}:\n{noStorage}\nwithout kexec-tools:\n{noKexec}");
        await ExpectDefectAsync(KnownDefects.CriuExecArgv, () =>
        {
            noStorage.Should().Contain("Dry run failed").And.MatchRegex("(?i)checkpoint (storage|dir)", "{0} is missing, and the report must say so", KexecPrerequisites.CheckpointDir);
            noKexec.Should().Contain("Dry run failed").And.MatchRegex("(?i)kexec(-tools)? (binary |command |program )?(not found|missing|unavailable)|System not ready",
                "the kexec program is missing, and the report must say so");
        }, ResolverLogTextAsync);
    }
}
