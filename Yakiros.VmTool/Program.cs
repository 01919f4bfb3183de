using Yakiros.VmFixtures;
using Yakiros.VmTool;

// yakiros-vmtool: prepare | bench [--cold] [--rounds N] | summary DIR | dashboard DIR | guard-demo [--container] (used by self-tests)
var command = args.FirstOrDefault() ?? "help";
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; interrupt.Cancel(); };
try
{
    var options = VmOptionsLoader.Load();
    return command switch
    {
        "prepare" => await Prepare.RunAsync(options, args.Contains("--dry-run"), interrupt.Token),
        "bench" => await Benchmark.RunAsync(options, args.Skip(1).ToArray(), interrupt.Token),
        "engine" => await EngineCheck.RunAsync(interrupt.Token),
        "build-yakiros" => await SourceBuildCommand.RunAsync(options, args.ElementAtOrDefault(1), interrupt.Token),
        "guard-demo" => await GuardDemo.RunAsync(options, args.Contains("--container"), interrupt.Token),
        "summary" => ResultSummary.Run(args.ElementAtOrDefault(1) ?? "TestResults"),
        "dashboard" when args.Length > 1 => Dashboard.Run(args[1]),
        _ => Usage(),
    };
}
catch (VmException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return e is PrerequisiteMissingException ? 3 : 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("interrupted");
    return 130;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: yakiros-vmtool <command>
          prepare [--dry-run]  build the guest image into the cache (if needed), with progress;
                               --dry-run only shows the cache keys and what would be built
          bench [--cold] [--rounds N]
                               measure image build, boot-to-SSH, command latency and restore against a cold boot
          engine               say whether a Docker engine answers (DOCKER_HOST or /var/run/docker.sock)
          build-yakiros <dir>  build a YakirOS source checkout in a container of the guest's distribution
                               (as the tests do when YAKIROS_BUILDDIR is an unbuilt checkout)
          summary <results-dir>
                               one-screen summary of the JUnit results of a run, then writes its
                               summary.json and dashboard.html (and the results root's dashboard.html)
          dashboard <results-dir>
                               only (re)write summary.json and the dashboards of a run, e.g. to add
                               an older run to the history: TestResults/<run>
        """);
    return 64;
}
