using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ResolverLogTests
{
    // busybox dmesg stamps every line of a multi-line message; the time after "[" decides, not the text.
    private const string Dmesg = """
        [    1.843214] If you want to keep using the local clock, then add:
        [    1.843214]   "trace_clock=local"
        [   34.756411] [91216.853] graph-resolver <INFO> running health check for 'networking': /usr/lib/yakiros-tests/bin/test-probe health networking
        [   35.118442] [91217.216] graph-resolver <INFO> health check for 'networking' passed
        [   35.118689] [91217.216] graph-resolver <INFO> graph stable after 1 iterations (7 components, 14 capabilities)
        """;

    [Fact]
    public void Only_lines_stamped_after_the_cursor_are_kept_in_order() =>
        ResolverLog.LinesAfter(Dmesg, 35.118442).Should().Be(
            "[   35.118689] [91217.216] graph-resolver <INFO> graph stable after 1 iterations (7 components, 14 capabilities)");

    [Fact]
    public void Every_stamped_line_of_a_multi_line_message_is_kept() =>
        ResolverLog.LinesAfter(Dmesg, 0).Split('\n').Should().HaveCount(5).And.Contain("[    1.843214]   \"trace_clock=local\"");

    [Fact]
    public void The_resolvers_lines_parse_with_the_kernels_time_level_and_message() =>
        ResolverLog.Parse(ResolverLog.LinesAfter(Dmesg, 35.0)).Should().Equal(
            new ResolverLogLine(35.118442, "INFO", "health check for 'networking' passed"),
            new ResolverLogLine(35.118689, "INFO", "graph stable after 1 iterations (7 components, 14 capabilities)"));

    [Fact]
    public void A_kmsg_record_becomes_the_dmesg_line_busybox_prints() =>
        ResolverLog.DmesgLines("6,2114,35118442,-;[91217.216] graph-resolver <INFO> health check for 'networking' passed").Should().Be(
            "[   35.118442] [91217.216] graph-resolver <INFO> health check for 'networking' passed");

    [Fact]
    public void A_kmsg_record_is_unescaped_to_utf8_and_each_line_of_it_is_stamped() =>
        ResolverLog.DmesgLines(@"6,7,1843214,-;If you want:\x0a  \x22\xe2\x9c\x93 local\x5c""").Should().Be(
            "[    1.843214] If you want:\n[    1.843214]   \"\u2713 local\\\"");

    [Fact]
    public void The_key_value_lines_after_a_kmsg_record_and_lines_without_a_header_give_nothing()
    {
        ResolverLog.DmesgLines(" SUBSYSTEM=virtio").Should().BeEmpty();
        ResolverLog.DmesgLines("no header here").Should().BeEmpty();
    }
}
