using System.Text;
using Yakiros.VmFixtures;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// The one way a test installs components: written to a staging folder and moved into /etc/graph.d in one command,
/// so the resolver never reads a half-written file and sees them together; plus generators of plain `busybox sleep infinity`
/// services (optionally with a readiness file or a health check).
/// </summary>
public static class GeneratedComponents
{
    /// <summary>On the same file system as /etc/graph.d, so that `mv` is a rename (one event, never a half-written file), not a copy.</summary>
    public const string Staging = "/etc/yakiros-tests-staging";

    /// <summary>
    /// A layered graph of <paramref name="count"/> services: gen-i provides gen.i and requires gen.(i-1) and
    /// gen.(i/2), so dependencies fan in and chains are long (depth about <paramref name="count"/>).
    /// </summary>
    public static IEnumerable<(string Name, string Toml)> LayeredGraph(int count, string prefix = "gen") =>
        Enumerable.Range(0, count).Select(i =>
        {
            var requires = i == 0 ? new[] { "kernel.memory" } : new[] { $"{prefix}.{i - 1}", $"{prefix}.{i / 2}" }.Distinct().ToArray();
            return ($"{prefix}-{i}", Service($"{prefix}-{i}", $"{prefix}.{i}", requires));
        });

    /// <summary>
    /// A `busybox sleep infinity` service providing <paramref name="capability"/>; extra TOML lines go under [lifecycle].
    /// busybox, not coreutils' sleep: under emulation the static program costs the guest about 13 ms to start against 48 ms,
    /// and a run starts a few hundred of these.
    /// </summary>
    public static string Service(string name, string capability, IEnumerable<string> requires, string? lifecycle = null, string binary = "/bin/busybox",
        string args = "\"sleep\", \"infinity\"")
    {
        var toml = new StringBuilder($"""
            [component]
            name = "{name}"
            binary = "{binary}"
            args = [{args}]
            type = "service"
            [provides]
            capabilities = ["{capability}"]
            [requires]
            capabilities = [{string.Join(", ", requires.Select(r => $"\"{r}\""))}]

            """);
        if (lifecycle is not null) toml.Append("[lifecycle]\n").Append(lifecycle).Append('\n');
        return toml.ToString();
    }

    /// <summary>Writes the components to the staging folder (nothing is visible to the resolver yet).</summary>
    public static Task StageAsync(VirtualMachine vm, IEnumerable<(string Name, string Toml)> components, CancellationToken cancellationToken = default) =>
        vm.Shell.UploadFilesAsync(Staging, components.Select(c => ($"zz-{c.Name}.toml", c.Toml)), replace: true, cancellationToken);

    /// <summary>Copies component files that already exist in the guest to the staging folder.</summary>
    public static Task StageFilesAsync(VirtualMachine vm, IEnumerable<string> guestPaths, CancellationToken cancellationToken = default) =>
        vm.Shell.SucceedAsync($"rm -rf {Staging} && mkdir -p {Staging} && cp {string.Join(' ', guestPaths.Select(ShellQuote.Quote))} {Staging}/",
            cancellationToken: cancellationToken);

    /// <summary>
    /// Whether the resolver under test reloads when a file is renamed into /etc/graph.d. The fixture finds out once per
    /// boot (its first install is a rename alone); until then, and when it does not (YK-016, proven by its own test),
    /// every install also creates and removes a stamp file, which any YakirOS notices. A build that notices renames
    /// gets no stamp: one install is one reload, which matters because a reload resets YakirOS's restart timers.
    /// </summary>
    public static bool RenamesNoticed { get; set; }

    /// <summary>
    /// The stamp that makes a resolver that misses renames reload (see <see cref="RenamesNoticed"/>): a new empty
    /// dotfile, one IN_CREATE event and so one reload (the resolver reads only *.toml; the snapshot restore removes it).
    /// </summary>
    public static Task StampAsync(VirtualMachine vm, CancellationToken cancellationToken = default) =>
        vm.Shell.SucceedAsync("touch /etc/graph.d/.reload-stamp-$(date +%s%N)", cancellationToken: cancellationToken);

    /// <summary>Moves every staged component into /etc/graph.d with one command (plus the stamp, where renames go unnoticed).</summary>
    public static async Task MoveInAsync(VirtualMachine vm, CancellationToken cancellationToken = default, bool? stamp = null)
    {
        await vm.Shell.SucceedAsync($"mv {Staging}/*.toml /etc/graph.d/", cancellationToken: cancellationToken);
        if (stamp ?? !RenamesNoticed) await StampAsync(vm, cancellationToken);
    }

    /// <summary>Stages and moves in.</summary>
    public static async Task InstallAsync(VirtualMachine vm, IEnumerable<(string Name, string Toml)> components, CancellationToken cancellationToken = default,
        bool? stamp = null)
    {
        await StageAsync(vm, components, cancellationToken);
        await MoveInAsync(vm, cancellationToken, stamp);
    }
}
