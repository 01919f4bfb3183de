using System.Text.RegularExpressions;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>
/// A defect of the published YakirOS that a test reproduces. <see cref="Signature"/> is a regular expression over
/// evidence that YakirOS itself produces for this defect and for nothing else (a resolver log line, an exact reply,
/// a value read from /proc or cgroupfs); <see cref="Source"/> says where the test reads that evidence. It never
/// matches text written by the test, a generic error code, or the name of an assertion's subject.
/// </summary>
public sealed record Defect(string Id, string Title, string Evidence, string Symptom, string Source, string Signature)
{
    /// <summary>The evidence's text that carries the signature, or null when the evidence does not show this defect.</summary>
    public string? Match(string evidence) =>
        Regex.Match(evidence, Signature, RegexOptions.Multiline | RegexOptions.CultureInvariant) is { Success: true } m ? m.Value : null;
}

/// <summary>
/// Every known YakirOS defect the suite expects, in one place. Evidence is file:line in YakirOS at commit 1b0b883
/// (see the shared yakiros-behavior.md). A test marked with one of these still runs: if its checks fail and the
/// evidence carries the signature it is reported as a known defect; if they pass, or fail without that evidence,
/// it is a red failure saying so (<see cref="KnownDefect"/>).
/// </summary>
public static class KnownDefects
{
    /// <summary>Where evidence is read; the test passes that text to the marker.</summary>
    public static class Sources
    {
        public const string ResolverLog = "the resolver's log (its `graph-resolver <LEVEL>` lines in the kernel log)";
        public const string Pid1State = "PID 1's state in /proc (comm, wait channel, syscall) while it did not answer";
        public const string Console = "the guest's serial console when it died";
        public const string GraphctlOutput = "the output of the guest's graphctl binary";
        public const string Reply = "the resolver's reply on its control socket";
        public const string Proc = "values the test read from /proc and the resolver's log";
    }

    public static readonly Defect SigchldFreeze = new("YK-001", "PID 1 freezes at the first SIGCHLD",
        "src/graph-resolver.c:273 (pipe2 without O_NONBLOCK), :410 (drain loop blocks in read)",
        "After the first child exits, PID 1 blocks in pipe_read for good: no reaping, no control-socket replies.",
        Sources.Pid1State, @"comm=graph-resolver .*wchan=(anon_)?pipe_read syscall=0 ");

    public static readonly Defect GraphctlSocketPath = new("YK-002", "graphctl connects to the wrong socket",
        "src/graphctl.c:49 (/tmp/graph-resolver.sock) vs src/control.h:8 (/run/graph-resolver.sock)",
        "graphctl prints `connect (is graph-resolver running?): No such file or directory` and exits 1.",
        Sources.GraphctlOutput, @"^connect \(is graph-resolver running\?\): No such file or directory$");

    public static readonly Defect EarlyMounts = new("YK-003", "The init never mounts /run and /dev/pts",
        "src/graph-resolver.c:78-92 (mount flags passed as filesystem data: EINVAL)",
        "mount_early_fs() fails for every file system; /run and /dev/pts stay unmounted.",
        Sources.ResolverLog, @"mount (tmpfs on /run|devpts on /dev/pts) failed: Invalid argument$");

    public static readonly Defect ReplyOverflow = new("YK-004", "A large status reply overflows a 4096-byte stack buffer",
        "src/control.c:64,120 (char response[4096], unchecked rlen +=)",
        "With about 75 or more components `status` crashes PID 1 (SIGSEGV), which panics the kernel.",
        Sources.Console, @"Attempted to kill init! exitcode=0x0000000b");

    public static readonly Defect ValidateIgnoresCycles = new("YK-005", "validate passes a graph with a cycle",
        "src/component.c:428 (validate_component_graph(1) returns 0 on a cycle), src/control.c:1005-1018",
        "`validate` prints `✓ Graph validation passed` while check-cycles reports a cycle.",
        Sources.Reply, @"^✓ Graph validation passed\s*\n\s*No dependency cycles detected");

    public static readonly Defect AnalyzeDepthAlwaysZero = new("YK-006", "analyze reports depth and SCC as 0",
        "src/graph.c:426-452 (max depth and SCC count are never computed)",
        "`Max Dependency Depth: 0` and `Strongly Connected Comp: 0` whatever the graph.",
        Sources.Reply, @"^Max Dependency Depth:\s+0\s*\n\s*Strongly Connected Comp:\s+0\s*$");

    public static readonly Defect CgroupControllersOff = new("YK-007", "cgroup controllers are never enabled, so no limit applies",
        "src/cgroup.c:73,85 (writes 21 bytes of \"+memory +cpu +io +pids\": \"+pid\" makes the kernel reject the whole write)",
        "cgroup.subtree_control stays empty; memory.max, cpu.weight and pids.max do not exist in component cgroups.",
        Sources.ResolverLog, @"failed to enable cgroup controllers (at root|for /sys/fs/cgroup/graph): Invalid argument$");

    public static readonly Defect KexecAcceptsUnknownMagic = new("YK-008", "kexec validation accepts a file that is not a kernel",
        "src/kexec.c:194-200 (unknown magic only logs a warning; validation passes)",
        "A 1 MiB file of zeros passes kernel validation; the dry run fails later, at the readiness checks.",
        Sources.ResolverLog, @"kernel magic bytes not recognized \(0x00000000\)\s*\n.*proceeding with validation anyway");

    public static readonly Defect KexecOptionWordUpgrades = new("YK-009", "An option word after kexec starts a real upgrade",
        "src/control.c:1111,1149 (every `kexec <word>` that is not `--dry-run` is a live upgrade of kernel <word>)",
        "`kexec --help` (and --check-prereq, --list-checkpoints) reply `=== LIVE KERNEL UPGRADE INITIATED ===`.",
        Sources.Reply, @"=== LIVE KERNEL UPGRADE INITIATED ===\s*\nTarget kernel: --help$");

    public static readonly Defect HotSwapDropsConnections = new("YK-010", "FD-passing hot-swap never hands the sockets over: every upgrade is a restart",
        "src/component.c:534-648 (the running instance is given no handoff channel, so it cannot pass its sockets), src/handoff.c:158-197 (poll fails with EINTR at the first SIGCHLD)",
        "`upgrade` of an fd-passing service kills the old instance and starts a new one that binds a new socket: open connections are dropped.",
        "the resolver's upgrade log and the old instance's own record of its SIGUSR1",
        @"(?s)upgrade: FD-passing handoff completion failed for 'test-echo-server'.*falling back to restart.*\n.*SIGUSR1, no handoff channel");

    public static readonly Defect CriuExecArgv = new("YK-011", "CRIU is executed with an argument list that is not NULL-terminated",
        "src/checkpoint.c:104-109 (exec_argv[32] gets only exec_argv[31] = NULL; execv reads stack garbage)",
        "`checkpoint` replies `Error: checkpoint failed for component 'X' (error code -4)`; the log says `Failed to execute CRIU: Bad address`. No checkpoint, so no restore either; the kexec dry run's `criu --version` fails too: `Dry run failed: Checkpoint operation failed`.",
        Sources.ResolverLog, @"Failed to execute CRIU: Bad address|CRIU command failed with exit code 127$");

    public static readonly Defect CheckpointListUnreachable = new("YK-012", "checkpoint-list and checkpoint-rm are unreachable",
        "src/control.c:811-858 (their handlers come after the `checkpoint` prefix match, which takes `-list`/`-rm` for a component name)",
        "`checkpoint-list X` replies `Error: component 'list X' not found`; `checkpoint-rm X id` removes nothing.",
        Sources.Reply, @"Error: component '(list|rm) test-stateful-service[^']*' not found");

    public static readonly Defect RestoreKillsService = new("YK-013", "restore with an unknown checkpoint id kills the running service",
        "src/component.c:994-1089 (SIGTERM and a 10-s wait on the running pid before the checkpoint directory is checked)",
        "`restore X 123` blocks PID 1 for 10 s, kills X, then replies that the checkpoint does not exist; X is restarted with a new pid and empty memory.",
        Sources.ResolverLog, @"(?s)restore: terminating current process \d+ for 'test-stateful-service'.*Checkpoint directory does not exist: \S*/123$");

    public static readonly Defect ServiceOutsideItsPidNamespace = new("YK-014", "A service with a PID namespace does not live in it",
        "src/cgroup.c:440,496 (unshare(CLONE_NEWPID) in the forked child moves only its future children)",
        "/proc/<pid>/ns/pid of the service equals PID 1's; only pid_for_children differs, and NSpid shows a single pid.",
        Sources.Proc, @"^ns/pid (pid:\[\d+\]) PID 1's \1 pid_for_children (?!\1)pid:\[\d+\] NSpid:\s+\d+$");

    public static readonly Defect UpgradeWaitsForService = new("YK-015", "`upgrade` answers only when the restarted service exits",
        "src/graph-resolver.c:417 (accept() without SOCK_CLOEXEC: the control connection leaks into the services started while it is open)",
        "The restarted service holds graphctl's connection, so the client waits for EOF until its own timeout on every upgrade.",
        Sources.Proc, @"^new instance holds a connection of /run/graph-resolver\.sock: socket:\[\d+\]$");

    public static readonly Defect RenameNotNoticed = new("YK-016", "A component file renamed into /etc/graph.d is not noticed",
        "src/graph-resolver.c:336 (inotify watches IN_CREATE | IN_DELETE | IN_MODIFY; a rename into the folder is IN_MOVED_TO)",
        "A TOML installed atomically (written elsewhere, then renamed into /etc/graph.d, as configuration tools do) stays unloaded until some other file changes.",
        Sources.Proc, @"^renamed file on disk: yes; `graph\.d changed, reloading` logged since the rename: 0$");

    public static readonly Defect OomSurvivorLeftRunning = new("YK-017", "OOM handling marks the component FAILED without stopping it, so a restart runs beside the survivor",
        "src/component.c:333-362 (state FAILED and pid -1, nothing killed), src/cgroup.c:364-397 (oom_kill is cumulative)",
        "After an OOM kill the rest of the instance keeps running untracked, and the restart starts a second instance next to it.",
        Sources.Proc, @"(?s)component 'memory-hog' hit OOM limit, marking as failed.*\nhog instances alive after the restart: [2-9]$");

    public static readonly Defect KexecDryRunListsNoPhases = new("YK-018", "A successful kexec dry run does not list the phases it validated",
        "src/control.c:1089-1095 (the success reply prints four status lines; the seven-phase plan is never listed)",
        "`kexec --dry-run <kernel>` replies `✓ Dry run successful` with Kernel validation / System readiness / CRIU / storage lines and no phase.",
        Sources.Reply, @"\A(?![\s\S]*Phase \d)\s*✓ Dry run successful - kexec would proceed with kernel: \S+\s*\n\s*- Kernel validation: PASSED");

    public static readonly Defect DependentLeftRunning = new("YK-019", "A service that lost its dependency is marked FAILED but keeps running, and its restart runs beside it",
        "src/graph.c:44-53 (ACTIVE with unmet requires: state FAILED, capabilities withdrawn, the process is not stopped), :55-66 (the FAILED component is started again)",
        "When a provider dies, its dependent shows FAILED while its process runs on untracked; when the provider is back, a second instance of the dependent starts.",
        Sources.Proc, @"(?s)attempting to restart failed component 'loss-dependent'.*\nfirst instance pid \d+ after the dependent's restart: alive$");

    public static readonly Defect NoKillAfterSigterm = new("YK-020", "A failed component is only sent SIGTERM: one that ignores it keeps running beside its restart",
        "src/component.c:1223-1226 (health FAILED: kill(pid, SIGTERM), pid = -1, no SIGKILL after a grace period), :60-65 (readiness timeout: SIGTERM only)",
        "A service that ignores SIGTERM survives health FAILED and readiness timeout untracked; the resolver starts another instance next to it.",
        Sources.Proc, @"(?s)component '(stubborn-health|never-ready)' (failed after \d+ consecutive health failures - restarting|readiness timeout after \d+ seconds).*\ninstance pid \d+ that ignores SIGTERM, \d+\.\d s \(guest clock\) after the resolver gave up on it: alive$");

    public static readonly Defect ReloadPublishesRunningOneshot = new("YK-021", "A reload publishes the capabilities of a oneshot that is still running",
        "src/graph-resolver.c:131-146 (after a reload every component restored as ACTIVE or DONE re-registers its provides; a running oneshot is ACTIVE; restart and readiness timers are zeroed by the re-parse)",
        "Any change in /etc/graph.d while a oneshot runs marks its capabilities UP, so its dependents start before it has succeeded (and even if it fails).",
        Sources.Reply, @"^early\.job\s+UP\s+early-job\s*$");

    public static readonly Defect OwnCheckpointTestFails = new("YK-022", "YakirOS's own test_checkpoint fails: checkpoint metadata does not load back",
        "tests/unit/test_checkpoint.c:191 (checkpoint_metadata_save_load expects 0 and gets the saved timestamp), src/checkpoint-mgmt.c:159-194",
        "`tests/unit/test_checkpoint` (built by `make build-tests`) reports `FAIL: tests/unit/test_checkpoint.c:191: Expected 0, got <epoch>` and exits non-zero.",
        "the output of YakirOS's own test program", @"FAIL\S*: tests/unit/test_checkpoint\.c:191: Expected 0, got \d+");

    public static IReadOnlyList<Defect> All { get; } =
        [SigchldFreeze, GraphctlSocketPath, EarlyMounts, ReplyOverflow, ValidateIgnoresCycles, AnalyzeDepthAlwaysZero, CgroupControllersOff, KexecAcceptsUnknownMagic, KexecOptionWordUpgrades,
         HotSwapDropsConnections, CriuExecArgv, CheckpointListUnreachable, RestoreKillsService, ServiceOutsideItsPidNamespace, UpgradeWaitsForService, RenameNotNoticed,
         OomSurvivorLeftRunning, KexecDryRunListsNoPhases, DependentLeftRunning, NoKillAfterSigterm, ReloadPublishesRunningOneshot, OwnCheckpointTestFails];
}
