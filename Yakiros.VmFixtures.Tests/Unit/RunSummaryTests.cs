using System.Text.Json;
using Yakiros.VmTool;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RunSummaryTests : IDisposable
{
    private const string Yk007 =
        "KNOWN DEFECT YK-007: cgroup controllers are never enabled, so no limit applies. Reproduced: waiting for `test -e memory.max` " +
        "to succeed did not finish within 30 s. Evidence: src/cgroup.c:73,85 (writes 21 bytes of \"+memory +cpu +io +pids\"). " +
        "Symptom: cgroup.subtree_control stays empty; memory.max does not exist in component cgroups.";

    private const string NoBuild = "No YakirOS build configured and none at /work/yakiros. Point the suite at your YakirOS build.";

    private readonly string _root = Directory.CreateTempSubdirectory("yakiros-summary-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private SyntheticRunResults Run(string name = "20261126-074023") => new(_root, name);

    private static RunSummary Summarize(string dir) => RunSummaryBuilder.Build(dir, TestResultReader.Read(dir));

    [Fact]
    public void Categories_get_the_Step11_keys_and_the_others_keep_their_name_in_lower_case()
    {
        var dir = Run()
            .Pass("Basic", "Yakiros.VmTests.BasicTests", "Boots", 1.25)
            .Pass("Basic", "Yakiros.VmTests.BasicTests", "Mounts", 0.5)
            .Fail("Graph", "Yakiros.VmTests.GraphTests", "Dot_parses", "Expected 3 edges, found 2", 2)
            .Pass("HotSwap", "Yakiros.VmTests.HotSwapTests", "Swaps")
            .Pass("CRIU", "Yakiros.VmTests.CriuTests", "Dumps")
            .Pass("Harness", "Yakiros.VmFixtures.Tests.SelfTests.GuardTests", "Guard_kills_qemu")
            .Pass("Unit", "Yakiros.VmFixtures.Tests.Unit.CacheKeyTests", "Same_key")
            .Pass("Soak", "Yakiros.VmTests.SoakTests", "Runs_an_hour")
            .Write();

        var summary = Summarize(dir);

        summary.TestResults.Keys.Should().Equal("basic_validation", "hot_swap", "graph_analysis", "checkpointing", "harness", "soak", "unit");
        summary.TestResults["basic_validation"].Should().Be(new CategoryResult("Basic", 2, 0, 0, 0, 1750, null));
        summary.TestResults["graph_analysis"].Should().Be(new CategoryResult("Graph", 0, 1, 0, 0, 2000, null));
        summary.Totals.Should().Be(new RunTotals(8, 7, 1, 0, 0, 8750));
        summary.TestRunId.Should().Be("yakiros-vmtests-20261126-074023");
    }

    [Fact]
    public void A_known_defect_is_counted_apart_from_skips_and_its_message_is_taken_from_the_TRX_and_parsed()
    {
        var dir = Run()
            .Pass("Isolation", "Yakiros.VmTests.IsolationTests", "Own_cgroup")
            .Skip("Isolation", "Yakiros.VmTests.IsolationTests", "Limits_hold", Yk007, 3.5, knownDefect: "YK-007")
            .Skip("Isolation", "Yakiros.VmTests.IsolationTests", "Fork_bomb_stops", Yk007, 1.5, knownDefect: "YK-007")
            .Skip("Isolation", "Yakiros.VmTests.IsolationTests", "Namespaces", NoBuild)
            .Write();

        var summary = Summarize(dir);

        summary.TestResults["isolation"].Should().Be(new CategoryResult("Isolation", 1, 0, 1, 2, 6000, null));
        var defect = summary.KnownDefects.Should().ContainSingle().Subject;
        defect.Id.Should().Be("YK-007");
        defect.Title.Should().Be("cgroup controllers are never enabled, so no limit applies");
        defect.Evidence.Should().Be("src/cgroup.c:73,85 (writes 21 bytes of \"+memory +cpu +io +pids\")");
        defect.Symptom.Should().Be("cgroup.subtree_control stays empty; memory.max does not exist in component cgroups.");
        defect.Tests.Select(t => t.Test).Should().Equal("IsolationTests.Fork_bomb_stops", "IsolationTests.Limits_hold");
        defect.Tests[0].Reproduced.Should().Be("waiting for `test -e memory.max` to succeed did not finish within 30 s.");
        summary.Skipped.Should().ContainSingle().Which.Should().BeEquivalentTo(new SkipGroup(NoBuild, ["IsolationTests.Namespaces"]));
        summary.Tests.Single(t => t.Test == "IsolationTests.Limits_hold").Should().BeEquivalentTo(
            new TestEntry("IsolationTests.Limits_hold", "isolation", "known_defect", 3500, "YK-007", null));
    }

    [Fact]
    public void The_slowest_tests_and_the_harness_times_of_every_test_process_show_where_the_time_went()
    {
        var dir = Run()
            .Pass("Basic", "Yakiros.VmTests.BasicTests", "Quick", 1.2)
            .Pass("Basic", "Yakiros.VmTests.InitDutyTests", "Backs_off", 27.7)
            .Pass("Health", "Yakiros.VmTests.HealthTests", "Interval", 13.9)
            .File("harness-times/Yakiros.VmTests.json",
                """[{"kind": "boot", "count": 2, "seconds": 21.5}, {"kind": "restore", "count": 60, "seconds": 48.3}, {"kind": "wait", "count": 90, "seconds": 210}]""")
            .File("harness-times/Yakiros.VmFixtures.Tests.json", """[{"kind": "boot", "count": 3, "seconds": 12.1}]""")
            .Write();

        var timing = Summarize(dir).Timing;

        timing.Slowest.Select(t => (t.Test, t.Seconds)).Should().Equal(
            ("InitDutyTests.Backs_off", 27.7), ("HealthTests.Interval", 13.9), ("BasicTests.Quick", 1.2));
        timing.Harness.Should().Equal(new HarnessTime("boot", 5, 33.6), new HarnessTime("restore", 60, 48.3), new HarnessTime("wait", 90, 210));
    }

    [Fact]
    public void A_skip_of_a_marked_test_for_another_reason_is_a_plain_skip()
    {
        var dir = Run().Skip("Kexec", "Yakiros.VmTests.KexecTests", "Option_word", NoBuild, knownDefect: "YK-009").Write();

        var summary = Summarize(dir);

        summary.TestResults["kexec"].Should().Be(new CategoryResult("Kexec", 0, 0, 1, 0, 0, NoBuild));
        summary.KnownDefects.Should().BeEmpty();
    }

    [Fact]
    public void The_success_rate_leaves_skips_out_and_counts_a_known_defect_as_not_passed()
    {
        var run = Run()
            .Pass("Basic", "Yakiros.VmTests.BasicTests", "A").Pass("Basic", "Yakiros.VmTests.BasicTests", "B")
            .Fail("Basic", "Yakiros.VmTests.BasicTests", "C", "boom")
            .Skip("Graph", "Yakiros.VmTests.GraphTests", "D", Yk007);
        for (var i = 0; i < 5; i++) run.Skip("Health", "Yakiros.VmTests.HealthTests", $"S{i}", NoBuild);

        var summary = Summarize(run.Write());

        summary.SuccessRate.Should().Be(50.0); // 2 / (2 + 1 + 1); the 5 skips do not count
        summary.SuccessRateBasis.Should().Contain("passed + failed + known_defect").And.Contain("skipped");
    }

    [Fact]
    public void The_success_rate_is_rounded_to_a_tenth_and_null_when_nothing_ran()
    {
        Summarize(Run("a").Pass("Basic", "C", "A").Pass("Basic", "C", "B").Fail("Basic", "C", "F", "x").Write())
            .SuccessRate.Should().Be(66.7);
        Summarize(Run("b").Skip("Basic", "C", "A", NoBuild).Write()).SuccessRate.Should().BeNull();
    }

    [Fact]
    public void A_category_where_every_test_was_skipped_gives_the_common_reason_and_says_when_some_differ()
    {
        var dir = Run()
            .Skip("Basic", "Yakiros.VmTests.BasicTests", "A", NoBuild).Skip("Basic", "Yakiros.VmTests.BasicTests", "B", NoBuild)
            .Skip("Graph", "Yakiros.VmTests.GraphTests", "C", NoBuild).Skip("Graph", "Yakiros.VmTests.GraphTests", "D", NoBuild)
            .Skip("Graph", "Yakiros.VmTests.GraphTests", "E", "QEMU is not installed")
            .Pass("Health", "Yakiros.VmTests.HealthTests", "F").Skip("Health", "Yakiros.VmTests.HealthTests", "G", NoBuild)
            .Write();

        var results = Summarize(dir).TestResults;

        results["basic_validation"].Reason.Should().Be(NoBuild);
        results["graph_analysis"].Reason.Should().Be($"{NoBuild} (and 1 skipped for other reasons)");
        results["health_checks"].Reason.Should().BeNull();
    }

    [Fact]
    public void Start_and_end_are_the_earliest_start_and_the_latest_finish_of_the_TRX_files_in_UTC()
    {
        var dir = Run()
            .Pass("Unit", "C", "A")
            .Times("2026-11-26T07:44:03.5+00:00", "2026-11-26T07:44:24.9+00:00")
            .Times("2026-11-26T08:40:32.3592419+01:00", "2026-11-26T07:43:57.9+00:00")
            .Write();

        var summary = Summarize(dir);

        summary.StartTime.Should().Be("2026-11-26T07:40:32Z");
        summary.EndTime.Should().Be("2026-11-26T07:44:24Z");
        summary.DurationSeconds.Should().Be(232.5); // 07:40:32.359 to 07:44:24.9
    }

    [Fact]
    public void Run_info_and_metric_files_fill_the_VM_config_and_the_metrics_with_targets_checked_against_the_scale()
    {
        var dir = Run()
            .Pass("Performance", "Yakiros.VmTests.PerformanceTests", "Memory")
            .File("run-info.json", """
                {"yakiros_build_dir": "/src/yakiros", "yakiros_version": "1b0b883",
                 "vm_config": {"ram_mb": 1024, "cpus": 2, "os": "Debian 12 guest", "kernel": "6.1.0-41-cloud-amd64", "accelerator": "tcg"},
                 "timing_scale": 10, "boot": "SSH ready after 3.7 s; graph settled after 13.9 s; PID 1 answered throughout"}
                """)
            .File("metrics/yakiros_memory_kb.json", """
                {"name":"yakiros_memory_kb","title":"Resolver RSS","value":4712.0,"unit":"KB","target":51200.0,"comparison":"max",
                 "scale":1.0,"effective_target":51200.0,"within_target":true,"method":"VmRSS of PID 1","test":"Yakiros.VmTests.PerformanceTests.Memory",
                 "measured_at":"2026-11-26T08:30:00Z"}
                """)
            .File("metrics/hot_swap_avg_ms.json", """{"name":"hot_swap_avg_ms","value":2600,"unit":"ms","target":200,"comparison":"max","scale":10}""")
            .File("metrics/requests_per_second.json", """{"name":"requests_per_second","value":80,"target":100,"comparison":"min","within_target":true}""")
            .Write();

        var summary = Summarize(dir);

        summary.YakirosVersion.Should().Be("1b0b883");
        summary.YakirosBuildDir.Should().Be("/src/yakiros");
        summary.TimingScale.Should().Be(10);
        summary.Boot.Should().StartWith("SSH ready after 3.7 s");
        summary.VmConfig.Should().Be(new VmConfig(1024, 2, "Debian 12 guest", "6.1.0-41-cloud-amd64", "tcg"));
        summary.PerformanceMetrics.Should().Contain(new KeyValuePair<string, double?>("yakiros_memory_kb", 4712))
            .And.Contain(new KeyValuePair<string, double?>("hot_swap_avg_ms", 2600))
            .And.Contain(new KeyValuePair<string, double?>("requests_per_second", 80))
            .And.Contain(new KeyValuePair<string, double?>("graph_resolution_ms", null));
        var hotSwap = summary.PerformanceDetails.Single(m => m.Name == "hot_swap_avg_ms");
        hotSwap.EffectiveTarget.Should().Be(2000);
        hotSwap.WithinTarget.Should().BeFalse();
        hotSwap.Source.Should().Be("metrics/hot_swap_avg_ms.json");
        summary.PerformanceDetails.Single(m => m.Name == "requests_per_second").WithinTarget.Should().BeFalse("80 is under the minimum of 100, whatever the file said");
        summary.PerformanceDetails.Single(m => m.Name == "yakiros_memory_kb").Method.Should().Be("VmRSS of PID 1");
    }

    [Fact]
    public void Without_run_info_or_metrics_those_fields_are_null_not_invented()
    {
        var summary = Summarize(Run().Pass("Basic", "C", "A").Write());

        summary.VmConfig.Should().Be(VmConfig.Unknown);
        summary.YakirosVersion.Should().BeNull();
        summary.TimingScale.Should().BeNull();
        summary.PerformanceMetrics.Keys.Should().Equal(PerformanceMetric.Expected.Select(e => e.Name));
        summary.PerformanceMetrics.Values.Should().AllSatisfy(v => v.Should().BeNull());
        summary.PerformanceDetails.Should().BeEmpty();
        summary.Inputs.RunInfo.Should().BeNull();
    }

    [Fact]
    public void A_broken_input_file_is_a_warning_not_a_crash()
    {
        var summary = Summarize(Run().Pass("Basic", "C", "A").File("run-info.json", "{ not json").File("metrics/x.json", "[1,").Write());

        summary.VmConfig.Should().Be(VmConfig.Unknown);
        summary.Inputs.Warnings.Should().HaveCount(2).And.Contain(w => w.StartsWith("run-info.json")).And.Contain(w => w.StartsWith("metrics/x.json"));
    }

    [Fact]
    public void A_failed_test_links_the_files_of_its_artifact_folder_and_soak_reports_are_listed()
    {
        var dir = Run()
            .Fail("HotSwap", "Yakiros.VmTests.HotSwapTests", "A_persistent_connection_survives", "connection reset")
            .File("HotSwapTests.A_persistent_connection_survives/console-tail.txt", "tail")
            .File("HotSwapTests.A_persistent_connection_survives/dmesg.txt", "dmesg")
            .File("HealthTests.Something_else/resolver-log.txt", "log")
            .File("metrics/m.json", """{"name":"m","value":1}""")
            .File("soak/report-1.json", "{}").File("soak/report.md", "# soak").File("soak/raw.csv", "1")
            .Write();

        var summary = Summarize(dir);

        var failure = summary.Failures.Should().ContainSingle().Subject;
        failure.Should().Match<FailedTest>(f => f.Test == "HotSwapTests.A_persistent_connection_survives" && f.Category == "hot_swap" && f.Message == "connection reset");
        failure.Details.Should().Contain("Stack Trace:");
        failure.Artifacts.Should().Equal("HotSwapTests.A_persistent_connection_survives/console-tail.txt", "HotSwapTests.A_persistent_connection_survives/dmesg.txt");
        summary.OtherArtifactFolders.Should().Equal("HealthTests.Something_else");
        summary.SoakReports.Should().Equal("soak/report-1.json", "soak/report.md");
    }

    [Fact]
    public void The_JSON_has_the_Step11_field_names()
    {
        var dir = Run().Pass("Basic", "Yakiros.VmTests.BasicTests", "A").Skip("Kexec", "Yakiros.VmTests.KexecTests", "B", Yk007).Write();

        using var json = JsonDocument.Parse(SummaryJson.Serialize(Summarize(dir)));
        var root = json.RootElement;

        root.EnumerateObject().Select(p => p.Name).Should().ContainInOrder(
            "test_run_id", "start_time", "end_time", "duration_seconds", "yakiros_version", "vm_config", "test_results", "performance_metrics", "success_rate", "success_rate_basis");
        root.GetProperty("start_time").GetString().Should().Be("2026-11-26T07:40:32Z");
        root.GetProperty("vm_config").EnumerateObject().Select(p => p.Name).Should().Equal("ram_mb", "cpus", "os", "kernel", "accelerator");
        var basic = root.GetProperty("test_results").GetProperty("basic_validation");
        basic.GetProperty("passed").GetInt32().Should().Be(1);
        basic.TryGetProperty("reason", out _).Should().BeFalse("a reason is written only when every test of the category was skipped");
        root.GetProperty("test_results").GetProperty("kexec").GetProperty("known_defect").GetInt32().Should().Be(1);
        root.GetProperty("known_defects")[0].GetProperty("evidence").GetString().Should().StartWith("src/cgroup.c:73,85");
        root.GetProperty("performance_metrics").GetProperty("yakiros_memory_kb").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("success_rate").GetDouble().Should().Be(50.0);
    }

    [Theory]
    [InlineData("Basic", "basic_validation")]
    [InlineData("HotSwap", "hot_swap")]
    [InlineData("Health", "health_checks")]
    [InlineData("Isolation", "isolation")]
    [InlineData("Graph", "graph_analysis")]
    [InlineData("CRIU", "checkpointing")]
    [InlineData("Kexec", "kexec")]
    [InlineData("Performance", "performance")]
    [InlineData("Soak", "soak")]
    [InlineData("Harness", "harness")]
    [InlineData("Unit", "unit")]
    [InlineData(null, "uncategorized")]
    public void Category_keys(string? category, string key) => CategoryKeys.KeyOf(category).Should().Be(key);
}
