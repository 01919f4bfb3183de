using Yakiros.VmTool;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class KnownDefectMessageTests
{
    [Fact]
    public void The_message_of_the_KnownDefect_runner_splits_into_its_parts()
    {
        // As Yakiros.VmTests KnownDefect writes it: the reproduced line may hold quotes, dots and a colon; the evidence dots and parentheses.
        var parsed = KnownDefectMessage.Parse(
            "KNOWN DEFECT YK-008: kexec validation accepts a file that is not a kernel. Reproduced: Expected reply \"✗ Dry run failed: Checkpoint operation failed " +
            "Evidence: src/kexec.c:194-200 (unknown magic only logs a warning; validation passes). Symptom: A 1 MiB file of zeros passes kernel validation; " +
            "the dry run fails later, at the readiness checks.");

        parsed.Should().Be(new KnownDefectMessage(
            "YK-008",
            "kexec validation accepts a file that is not a kernel",
            "Expected reply \"✗ Dry run failed: Checkpoint operation failed",
            "src/kexec.c:194-200 (unknown magic only logs a warning; validation passes)",
            "A 1 MiB file of zeros passes kernel validation; the dry run fails later, at the readiness checks."));
    }

    [Fact]
    public void A_shorter_message_still_gives_the_id() =>
        KnownDefectMessage.Parse("KNOWN DEFECT YK-010: something new").Should().Be(new KnownDefectMessage("YK-010", "something new", null, null, null));

    [Fact]
    public void Another_message_is_not_a_known_defect() =>
        KnownDefectMessage.Parse("No YakirOS build configured").Should().BeNull();
}
