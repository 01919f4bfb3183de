using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>Step 11, Reliability: PID 1 and its control socket survive a network fault (the guest's link down, then up).</summary>
public sealed partial class BasicTests
{
    private const string NetFaultLog = "/run/yakiros-tests/net-fault.log";

    [GuestFact]
    public async Task PID_1_keeps_answering_graphctl_through_a_network_outage_and_every_service_stays_up()
    {
        var (vm, ctl) = await GuestAsync();
        var outage = Scaled(TimeSpan.FromSeconds(3));
        // A guest-side client asks for `status` every half second from before the link goes down until the test says the
        // link is up again (the host cannot reach the guest in between); at most 120 requests, should the test die.
        await vm.Shell.SucceedAsync(
            $"mkdir -p /run/yakiros-tests && rm -f {NetFaultLog}.stop && setsid sh -c 'n=0; while [ ! -e {NetFaultLog}.stop ] && [ $n -lt 120 ]; do n=$((n+1)); " +
            $"if printf status | timeout 10 socat -t9 - UNIX-CONNECT:{GraphCtl.SocketPath} | grep -q \"^Summary:\"; then echo ok; else echo fail; fi; sleep 0.5; done; echo end' " +
            $"> {NetFaultLog} 2>&1 < /dev/null &");
        await vm.Shell.WaitUntilSucceedsAsync($"grep -q . {NetFaultLog}", Scaled(TimeSpan.FromSeconds(10))); // the client runs

        await vm.SetLinkAsync(false);
        try
        {
            await Task.Delay(outage); // the stimulus: the outage lasts this long
        }
        finally
        {
            await vm.SetLinkAsync(true);
        }
        await vm.Shell.SucceedAsync($"touch {NetFaultLog}.stop");
        await vm.Shell.WaitUntilSucceedsAsync($"grep -q '^end$' {NetFaultLog}", Scaled(TimeSpan.FromSeconds(20)));
        var answers = (await vm.Shell.SucceedAsync($"cat {NetFaultLog}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var status = await ctl.WaitForStatusAsync(s => Fixture.Components.All(c => s.Find(c.Name)?.State == (c.IsOneshot ? "DONE" : "ACTIVE")),
            Scaled(TimeSpan.FromSeconds(30)), "every boot service ACTIVE after the outage");

        Output.WriteLine($"link down for {outage.TotalSeconds:0} s; status answers in the guest: {string.Join(' ', answers)}");
        answers.Where(a => a != "end").Should().NotBeEmpty().And.OnlyContain(a => a == "ok", "PID 1 answers its control socket (each request within 10 s) whatever the network does");
        status.Components.Where(c => c.State == "FAILED").Should().BeEmpty(status.Raw);
        (await vm.Shell.SucceedAsync("cat /proc/1/comm")).Stdout.Trim().Should().Be("graph-resolver");
    }
}
