using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;
using Yakiros.VmTests.Infrastructure;

namespace Yakiros.VmTests;

/// <summary>Step 11, Graph analysis: cycles are found, the analysis matches the real component set, and large graphs resolve.</summary>
[Trait("Category", Categories.Graph)]
[Collection(YakirosCollection.Name)]
public sealed class GraphTests(YakirosVmFixture fixture, ITestOutputHelper output) : CategoryTests(fixture, output)
{
    private const string RuntimeComponents = "/usr/share/yakiros-tests/runtime-components";

    [GuestFact(ReadsOnly = true)]
    public async Task Check_cycles_reports_no_cycle_in_the_boot_graph()
    {
        var (_, ctl) = await GuestAsync();

        var reply = await ctl.SendAsync("check-cycles");

        reply.Should().Contain("No dependency cycles detected").And.NotContain("CYCLE DETECTED");
    }

    [GuestFact]
    public async Task Check_cycles_finds_test_cycle_a_and_b_once_they_are_added()
    {
        var (vm, ctl) = await GuestAsync();
        await AddCyclePairAsync(vm, ctl);

        var reply = await ctl.SendAsync("check-cycles");

        reply.Should().Contain("CYCLE DETECTED").And.Contain("test-cycle-a").And.Contain("test-cycle-b");
        Output.WriteLine(reply);
    }

    [GuestFact]
    public async Task A_graph_with_a_cycle_is_refused_at_startup()
    {
        var (vm, _) = await GuestAsync();
        // A second resolver, in test mode (not PID 1), in its own mount namespace: its /etc/graph.d holds only the cycle
        // pair and its /run is private, so the guest's PID 1 and its socket are untouched. Step 11: a cycle refuses to boot.
        var result = await vm.Shell.RunAsync(
            "unshare -m --propagation private sh -c '" +
            $"mount -t tmpfs none /etc/graph.d && cp {RuntimeComponents}/test-cycle-a.toml {RuntimeComponents}/test-cycle-b.toml /etc/graph.d/ && " +
            $"mount -t tmpfs none /run && timeout 10 {YakirosBuild.ResolverGuestPath}; echo \"exit $?\"' 2>&1", Scaled(TimeSpan.FromSeconds(30)));

        var log = await ResolverLogAsync();
        Output.WriteLine($"{result.Stdout}\n{string.Join('\n', log)}");
        result.Stdout.Trim().Split('\n')[^1].Should().Be("exit 1", "the resolver must refuse to start a graph with a cycle, not run it (124 = it kept running)");
        log.Should().Contain(l => l.Message == "refusing to start with cyclic dependencies");
        log.Should().Contain(l => l.Message.StartsWith("dependency cycles detected: ", StringComparison.Ordinal) &&
                                  l.Message.Contains("test-cycle-a", StringComparison.Ordinal) && l.Message.Contains("test-cycle-b", StringComparison.Ordinal),
            "the refusal names the cycle");
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-005")]
    public async Task Validate_fails_on_a_graph_with_a_cycle_and_names_it()
    {
        var (vm, ctl) = await GuestAsync();
        await AddCyclePairAsync(vm, ctl);

        var reply = await ctl.SendAsync("validate");

        Output.WriteLine(reply);
        await ExpectDefectAsync(KnownDefects.ValidateIgnoresCycles, () =>
        {
            reply.Should().NotContain("Graph validation passed", "the graph has the cycle test-cycle-a <-> test-cycle-b");
            reply.Should().Contain("test-cycle-a").And.Contain("test-cycle-b", "the report names the components of the cycle");
        }, reply);
    }

    [GuestFact(ReadsOnly = true)]
    public async Task Analyze_counts_equal_the_actual_component_set()
    {
        var (_, ctl) = await GuestAsync();
        var components = Fixture.Components;
        var caps = await ctl.SendAsync("caps");
        var registered = caps.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\S+\s+(UP|DEGRADED|DOWN)\s"));
        var dependencies = components.Sum(c => c.Requires.Count);

        var analysis = await ctl.AnalyzeAsync();

        analysis.Components.Should().Be(components.Count + 1, "the boot components plus the kernel pseudo-component:\n{0}", analysis.Raw);
        analysis.Capabilities.Should().Be(registered, "as many as `caps` lists:\n{0}", caps);
        analysis.TotalDependencies.Should().Be(dependencies, "the sum of every [requires] list");
        analysis.AverageDependencies.Should().BeApproximately((double)dependencies / (components.Count + 1), 0.006);
        analysis.CyclesReported.Should().BeFalse("the boot graph is acyclic:\n{0}", analysis.Raw);
    }

    [GuestFact(ReadsOnly = true)]
    [Trait("KnownDefect", "YK-006")]
    public async Task Analyze_reports_the_longest_requires_chain_as_max_depth()
    {
        var (_, ctl) = await GuestAsync();
        var depth = LongestRequiresChain(Fixture.Components);

        var analysis = await ctl.AnalyzeAsync();

        Output.WriteLine($"longest requires chain of the boot graph: {depth} edges\n{analysis.Raw}");
        await ExpectDefectAsync(KnownDefects.AnalyzeDepthAlwaysZero, () =>
            analysis.MaxDepth.Should().Be(depth, "the longest chain of `requires` edges in the boot graph has {0} edges", depth), analysis.Raw);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-006")]
    public async Task Analyze_counts_the_cycle_pair_as_one_strongly_connected_component()
    {
        var (vm, ctl) = await GuestAsync();
        await AddCyclePairAsync(vm, ctl);

        var analysis = await ctl.AnalyzeAsync();

        Output.WriteLine(analysis.Raw);
        analysis.Components.Should().Be(Fixture.Components.Count + 3, "the boot components, the kernel pseudo-component and the cycle pair");
        analysis.CyclesReported.Should().BeTrue("test-cycle-a and test-cycle-b require each other");
        await ExpectDefectAsync(KnownDefects.AnalyzeDepthAlwaysZero, () =>
            analysis.StronglyConnected.Should().Be(1, "exactly one set of components is strongly connected (test-cycle-a <-> test-cycle-b); every other component is on no cycle"),
            analysis.Raw);
    }

    [GuestFact(ReadsOnly = true)]
    public async Task Tree_and_rdeps_agree_with_the_TOML_requires_and_provides()
    {
        var (_, ctl) = await GuestAsync();

        foreach (var component in Fixture.Components)
        {
            var tree = await ctl.SendAsync($"tree {component.Name}");
            foreach (var required in component.Requires) tree.Should().Contain($"requires: {required} ", $"{component.File} requires it");
            foreach (var provided in component.Provides) tree.Should().MatchRegex($@"[├└]── {System.Text.RegularExpressions.Regex.Escape(provided)}\r?(\n|$)", $"{component.File} provides it");
        }
        foreach (var capability in Fixture.Components.SelectMany(c => c.Provides).Distinct())
        {
            var rdeps = await ctl.SendAsync($"rdeps {capability}");
            var dependents = Fixture.Components.Where(c => c.Requires.Contains(capability)).Select(c => c.Name).Order().ToList();
            var listed = rdeps.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("→ ", StringComparison.Ordinal))
                .Select(l => l[2..].Split(' ')[0]).Order().ToList();
            listed.Should().Equal(dependents, $"`rdeps {capability}` must list exactly the components whose TOML requires it:\n{rdeps}");
        }
    }

    /// <summary>The capabilities YakirOS registers for its kernel pseudo-component (src/component.c:448-456).</summary>
    private static readonly string[] KernelCapabilities =
        ["kernel.syscalls", "kernel.memory", "kernel.scheduling", "filesystem.proc", "filesystem.sys", "filesystem.dev", "filesystem.run", "filesystem.devpts"];

    [GuestFact(ReadsOnly = true)]
    public async Task Caps_lists_every_capability_with_its_provider_and_state_and_the_total_counts_them()
    {
        var (_, ctl) = await GuestAsync();
        await ctl.WaitForStatusAsync(s => Fixture.Components.All(c => s.Find(c.Name)?.State == (c.IsOneshot ? "DONE" : "ACTIVE")),
            Scaled(TimeSpan.FromSeconds(30)), "every boot service ACTIVE");
        var expected = KernelCapabilities.Select(c => $"{c} UP kernel")
            .Concat(Fixture.Components.SelectMany(c => c.Provides.Select(p => $"{p} UP {c.Name}"))).Order(StringComparer.Ordinal).ToList();

        var caps = await ctl.SendAsync("caps");

        var rows = caps.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(\S+)\s+(UP|DEGRADED|DOWN)\s+(\S+)\s*$"))
            .Where(m => m.Success).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value} {m.Groups[3].Value}").Order(StringComparer.Ordinal).ToList();
        rows.Should().Equal(expected, "each capability once, UP, with the component whose TOML provides it:\n{0}", caps);
        caps.Should().Contain($"Total: {rows.Count} capabilities ({rows.Count} up, 0 down)", "the total counts the rows");
    }

    [GuestFact(ReadsOnly = true)]
    public async Task The_DOT_output_parses_and_has_exactly_the_expected_edges()
    {
        var (_, ctl) = await GuestAsync();
        var expected = Fixture.Components
            .SelectMany(c => c.Requires.Select(r => new DotEdge(c.Name, r, "red")).Concat(c.Provides.Select(p => new DotEdge(c.Name, p, "green"))))
            .OrderBy(e => e.ToString(), StringComparer.Ordinal).ToList();

        var edges = DotGraph.ParseEdges(await ctl.SendAsync("dot")).OrderBy(e => e.ToString(), StringComparer.Ordinal).ToList();

        edges.Should().Equal(expected);
    }

    [GuestFact]
    [Trait("KnownDefect", "YK-004")]
    public async Task A_hundred_more_components_resolve_and_status_still_answers()
    {
        var (vm, ctl) = await GuestAsync();
        const int count = 100; // 50+ per Step 11; about 75 rows already overflow a 4 KiB reply
        var bulk = Enumerable.Range(1, count).Select(i => ($"bulk-{i:D3}", GeneratedComponents.Service($"bulk-{i:D3}", $"bulk.{i:D3}", ["kernel.memory"])));
        await GeneratedComponents.StageAsync(vm, bulk);

        await ExpectDefectAsync(KnownDefects.ReplyOverflow, async () =>
        {
            await GeneratedComponents.MoveInAsync(vm);
            var status = await ctl.WaitForStatusAsync(s => Enumerable.Range(1, count).All(i => s.Find($"bulk-{i:D3}")?.State == "ACTIVE"),
                Scaled(TimeSpan.FromSeconds(60)), $"{count} bulk components ACTIVE");
            status.Components.Should().HaveCount(count + Fixture.Components.Count + 1, "every bulk and boot component and the kernel row");
            status.Summary.Should().Be(status.SummaryFromRows());
        }, () => Task.FromResult(vm.DeathReason ?? vm.Console.Tail(40)));
    }

    private async Task AddCyclePairAsync(VirtualMachine vm, GraphCtl ctl)
    {
        await GeneratedComponents.StageFilesAsync(vm, [$"{RuntimeComponents}/test-cycle-a.toml", $"{RuntimeComponents}/test-cycle-b.toml"]);
        await GeneratedComponents.MoveInAsync(vm);
        await ctl.WaitForStatusAsync(s => s.Find("test-cycle-a") is not null && s.Find("test-cycle-b") is not null,
            TimeSpan.FromSeconds(20), "the resolver loading test-cycle-a and test-cycle-b");
    }

    /// <summary>Edges of the longest chain A requires a capability that B provides, B requires one that C provides, ...</summary>
    private static int LongestRequiresChain(IReadOnlyList<ComponentDefinition> components)
    {
        var memo = new Dictionary<string, int>();
        int Depth(ComponentDefinition c, int guard) => guard > components.Count ? 0 : memo.TryGetValue(c.Name, out var d) ? d : memo[c.Name] =
            c.Requires.SelectMany(r => components.Where(p => p.Provides.Contains(r))).Select(p => 1 + Depth(p, guard + 1)).DefaultIfEmpty(0).Max();
        return components.Select(c => Depth(c, 0)).DefaultIfEmpty(0).Max();
    }
}
