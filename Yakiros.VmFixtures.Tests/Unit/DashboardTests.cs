using System.Text.Json;
using System.Text.RegularExpressions;
using Yakiros.VmTool;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DashboardTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("yakiros-dashboard-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private DashboardFiles Write(SyntheticRunResults run)
    {
        var dir = run.Write();
        return Dashboard.Write(dir, TestResultReader.Read(dir));
    }

    private SyntheticRunResults Run(string name, string start, string finish) => new SyntheticRunResults(_root, name).Times(start, finish);

    [Fact]
    public void The_run_folder_gets_summary_json_and_dashboard_html_and_the_root_a_copy_whose_links_lead_into_the_run()
    {
        var files = Write(Run("20261126-083000", "2026-11-26T08:30:00Z", "2026-11-26T08:34:00Z")
            .Fail("Health", "Yakiros.VmTests.HealthTests", "Checks_run_on_time", "gaps were 2, 8 s")
            .File("HealthTests.Checks_run_on_time/console-tail.txt", "tail")
            .File("soak/report.md", "# soak"));

        files.Json.Should().Be(Path.Combine(_root, "20261126-083000", "summary.json"));
        files.Html.Should().Be(Path.Combine(_root, "20261126-083000", "dashboard.html"));
        files.RootHtml.Should().Be(Path.Combine(_root, "dashboard.html"));
        JsonDocument.Parse(File.ReadAllText(files.Json)).RootElement.GetProperty("test_run_id").GetString().Should().Be("yakiros-vmtests-20261126-083000");
        var html = File.ReadAllText(files.Html);
        var root = File.ReadAllText(files.RootHtml!);
        html.Should().Contain("href=\"HealthTests.Checks_run_on_time/console-tail.txt\"").And.Contain("href=\"soak/report.md\"").And.Contain("href=\"../20261126-083000/dashboard.html\"");
        root.Should().Contain("href=\"20261126-083000/HealthTests.Checks_run_on_time/console-tail.txt\"").And.Contain("href=\"20261126-083000/dashboard.html\"");
    }

    [Fact]
    public void The_dashboard_is_self_contained()
    {
        var files = Write(Run("r1", "2026-11-26T08:30:00Z", "2026-11-26T08:34:00Z").Pass("Basic", "Yakiros.VmTests.BasicTests", "Boots")
            .File("metrics/hot_swap_avg_ms.json", """{"name":"hot_swap_avg_ms","value":2600,"unit":"ms","target":200,"comparison":"max","scale":10}"""));

        var html = File.ReadAllText(files.Html);

        html.Should().StartWith("<!DOCTYPE html>").And.Contain("<svg").And.Contain("<style>");
        html.Should().NotContainAny("<script", "<link", "@import", "url(", "src=\"http", "href=\"http");
        html.Should().Contain("2,600 ms").And.Contain("misses target").And.Contain("200 ms × timing scale 10");
    }

    [Fact]
    public void Text_from_the_results_is_HTML_escaped()
    {
        var files = Write(Run("r1", "2026-11-26T08:30:00Z", "2026-11-26T08:34:00Z")
            .Fail("Graph", "Yakiros.VmTests.GraphTests", "Dot", "expected <script>alert('x')</script> & \"quotes\"")
            .Skip("Kexec", "Yakiros.VmTests.KexecTests", "K", "KNOWN DEFECT YK-009: <b>bold</b>. Reproduced: r Evidence: src/control.c:1111 <i>. Symptom: s"));

        var html = File.ReadAllText(files.Html);

        html.Should().NotContain("<script>alert").And.NotContain("<b>bold</b>").And.NotContain("<i>.");
        html.Should().Contain("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;").And.Contain("&lt;b&gt;bold&lt;/b&gt;");
    }

    [Fact]
    public void Without_metrics_the_dashboard_says_not_measured()
    {
        var html = File.ReadAllText(Write(Run("r1", "2026-11-26T08:30:00Z", "2026-11-26T08:34:00Z").Pass("Basic", "C", "A")).Html);

        html.Should().Contain("Not measured: <code>yakiros_memory_kb</code>").And.Contain("<span class=\"muted\">not measured</span>");
    }

    [Fact]
    public void History_lists_every_sibling_summary_by_start_time_and_the_root_copy_stays_with_the_latest_run()
    {
        Write(Run("b-second", "2026-11-26T08:00:00Z", "2026-11-26T08:05:00Z").Pass("Basic", "C", "A").Fail("Basic", "C", "B", "x"));
        Write(Run("a-third", "2026-11-26T09:00:00Z", "2026-11-26T09:05:00Z").Pass("Basic", "C", "A"));
        Directory.CreateDirectory(Path.Combine(_root, "not-a-run"));
        var older = Write(Run("c-first", "2026-11-26T07:00:00Z", "2026-11-26T07:05:00Z").Pass("Basic", "C", "A").Skip("Basic", "C", "S", "KNOWN DEFECT YK-001: t"));

        var history = RunHistory.Load(_root, []);

        history.Select(h => h.Folder).Should().Equal("c-first", "b-second", "a-third");
        history.Select(h => h.SuccessRate).Should().Equal(50.0, 50.0, 100.0);
        history[0].Should().Match<HistoryPoint>(h => h.Passed == 1 && h.KnownDefect == 1 && h.Failed == 0);
        older.RootHtml.Should().BeNull("a later run owns the root dashboard");
        File.ReadAllText(Path.Combine(_root, "dashboard.html")).Should().Contain("yakiros-vmtests-a-third");
        Regex.Matches(File.ReadAllText(older.Html), "<tr[^>]*><td><a href=\"\\.\\./").Should().HaveCount(3);
    }

    [Fact]
    public void A_summary_in_the_plain_Step11_format_counts_in_the_history()
    {
        using var doc = JsonDocument.Parse("""
            {"test_run_id": "yakiros-step11-20240227-143052", "start_time": "2024-02-27T14:30:52Z",
             "test_results": {"basic_validation": {"passed": 5, "failed": 0, "duration_ms": 12300},
                              "checkpointing": {"passed": 6, "failed": 1, "skipped": 3, "reason": "CRIU unavailable"}},
             "performance_metrics": {"yakiros_memory_kb": 47832, "hot_swap_avg_ms": 4200}, "success_rate": 94.7}
            """);

        var point = RunHistory.Read("old", doc.RootElement);

        point.Should().Match<HistoryPoint>(p => p.Passed == 11 && p.Failed == 1 && p.Skipped == 3 && p.KnownDefect == 0 && p.SuccessRate == 94.7);
        point.Start.Should().Be(new DateTimeOffset(2024, 2, 27, 14, 30, 52, TimeSpan.Zero));
        point.Metrics["yakiros_memory_kb"].Value.Should().Be(47832);
    }
}
