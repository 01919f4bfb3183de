namespace Yakiros.VmTests;

/// <summary>A defect of the published YakirOS that a test reproduces, with its evidence and the failure signature it must keep showing.</summary>
public sealed record Defect(string Id, string Title, string Evidence, string Symptom, string Signature);

/// <summary>
/// Every known YakirOS defect the suite expects, in one place. Evidence is file:line in YakirOS at commit 1b0b883
/// (see the shared yakiros-behavior.md). A test marked with one of these still runs: if it fails with the signature
/// it is reported as a known defect; if it passes, or fails differently, it is a red failure saying so.
/// </summary>
public static class KnownDefects
{
    public static readonly Defect SigchldFreeze = new("YK-001", "PID 1 freezes at the first SIGCHLD",
        "src/graph-resolver.c:273 (pipe2 without O_NONBLOCK), :410 (drain loop blocks in read)",
        "After the first child exits, PID 1 blocks in pipe_read for good: no reaping, no control-socket replies.",
        @"did not answer|wchan=pipe_read");

    public static readonly Defect GraphctlSocketPath = new("YK-002", "graphctl connects to the wrong socket",
        "src/graphctl.c:49 (/tmp/graph-resolver.sock) vs src/control.h:8 (/run/graph-resolver.sock)",
        "graphctl prints `connect (is graph-resolver running?): No such file or directory` and exits 1.",
        @"No such file or directory");

    public static readonly Defect EarlyMounts = new("YK-003", "The init never mounts /run and /dev/pts",
        "src/graph-resolver.c:78-92 (mount flags passed as filesystem data: EINVAL)",
        "mount_early_fs() fails for every file system; /run and /dev/pts stay unmounted.",
        @"not mounted by the init");

    public static readonly Defect ReplyOverflow = new("YK-004", "A large status reply overflows a 4096-byte stack buffer",
        "src/control.c:64,120 (char response[4096], unchecked rlen +=)",
        "With about 75 or more components `status` crashes PID 1 (SIGSEGV), which panics the kernel.",
        @"kernel panic|Attempted to kill init|did not answer|QEMU exited");

    public static readonly Defect ValidateIgnoresCycles = new("YK-005", "validate passes a graph with a cycle",
        "src/component.c:428 (validate_component_graph(1) returns 0 on a cycle), src/control.c:1005-1018",
        "`validate` prints `✓ Graph validation passed` while check-cycles reports a cycle.",
        @"Graph validation passed");

    public static readonly Defect AnalyzeDepthAlwaysZero = new("YK-006", "analyze reports depth and SCC as 0",
        "src/graph.c:426-452 (max depth and SCC count are never computed)",
        "`Max Dependency Depth: 0` and `Strongly Connected Comp: 0` whatever the graph.",
        @"MaxDepth|StronglyConnected");

    public static readonly Defect CgroupControllersOff = new("YK-007", "cgroup controllers are never enabled, so no limit applies",
        "src/cgroup.c:73,85 (writes 21 bytes of \"+memory +cpu +io +pids\": \"+pid\" makes the kernel reject the whole write)",
        "cgroup.subtree_control stays empty; memory.max, cpu.weight and pids.max do not exist in component cgroups.",
        @"No such file or directory|controller files absent");

    public static readonly Defect KexecAcceptsUnknownMagic = new("YK-008", "kexec validation accepts a file that is not a kernel",
        "src/kexec.c:194-200 (unknown magic only logs a warning; validation passes)",
        "A 1 MiB file of zeros passes kernel validation; the dry run fails later, at the readiness checks.",
        @"Dry run failed: (Checkpoint|System not ready|Permission)|Dry run successful");

    public static readonly Defect KexecOptionWordUpgrades = new("YK-009", "An option word after kexec starts a real upgrade",
        "src/control.c:1111,1149 (every `kexec <word>` that is not `--dry-run` is a live upgrade of kernel <word>)",
        "`kexec --help` (and --check-prereq, --list-checkpoints) reply `=== LIVE KERNEL UPGRADE INITIATED ===`.",
        @"LIVE KERNEL UPGRADE INITIATED");

    public static readonly Defect HotSwapDropsConnections = new("YK-010", "FD-passing hot-swap never hands the sockets over: every upgrade is a restart",
        "src/component.c:534-648 (the running instance is given no handoff channel, so it cannot pass its sockets), src/handoff.c:158-197 (poll fails with EINTR at the first SIGCHLD)",
        "`upgrade` of an fd-passing service kills the old instance and starts a new one that binds a new socket: open connections are dropped.",
        @"CONNECTION CLOSED BY THE SERVER|CONNECTION ERROR|listening socket inode changed|listener=bound|every client that connects during the swap");

    public static readonly Defect CriuExecArgv = new("YK-011", "CRIU is executed with an argument list that is not NULL-terminated",
        "src/checkpoint.c:104-109 (exec_argv[32] gets only exec_argv[31] = NULL; execv reads stack garbage)",
        "`checkpoint` replies `Error: checkpoint failed for component 'X' (error code -4)`; the log says `Failed to execute CRIU: Bad address`. No checkpoint, so no restore either; the kexec dry run's `criu --version` fails too: `Dry run failed: Checkpoint operation failed`.",
        @"checkpoint failed for component|Bad address|error code -4|Checkpoint operation failed");

    public static readonly Defect CheckpointListUnreachable = new("YK-012", "checkpoint-list and checkpoint-rm are unreachable",
        "src/control.c:811-858 (their handlers come after the `checkpoint` prefix match, which takes `-list`/`-rm` for a component name)",
        "`checkpoint-list X` replies `Error: component 'list X' not found`; `checkpoint-rm X id` removes nothing.",
        @"component '(list|rm)");

    public static readonly Defect RestoreKillsService = new("YK-013", "restore with an unknown checkpoint id kills the running service",
        "src/component.c:994-1089 (SIGTERM and a 10-s wait on the running pid before the checkpoint directory is checked)",
        "`restore X 123` blocks PID 1 for 10 s, kills X, then replies that the checkpoint does not exist; X is restarted with a new pid and empty memory.",
        @"the running service was killed");

    public static readonly Defect ServiceOutsideItsPidNamespace = new("YK-014", "A service with a PID namespace does not live in it",
        "src/cgroup.c:440,496 (unshare(CLONE_NEWPID) in the forked child moves only its future children)",
        "/proc/<pid>/ns/pid of the service equals PID 1's; only pid_for_children differs, and NSpid shows a single pid.",
        @"pid namespace of the service = PID 1's");

    public static readonly Defect UpgradeWaitsForService = new("YK-015", "`upgrade` answers only when the restarted service exits",
        "src/graph-resolver.c:417 (accept() without SOCK_CLOEXEC: the control connection leaks into the services started while it is open)",
        "The restarted service holds graphctl's connection, so the client waits for EOF until its own timeout (25 s here) on every upgrade; restart cycles crawl.",
        @"restart cycles done \d+ of");

    public static readonly Defect RenameNotNoticed = new("YK-016", "A component file renamed into /etc/graph.d is not noticed",
        "src/graph-resolver.c:336 (inotify watches IN_CREATE | IN_DELETE | IN_MODIFY; a rename into the folder is IN_MOVED_TO)",
        "A TOML installed atomically (written elsewhere, then renamed into /etc/graph.d, as configuration tools do) stays unloaded until some other file changes.",
        @"renamed into /etc/graph.d\) being loaded and ACTIVE did not happen");

    public static IReadOnlyList<Defect> All { get; } =
        [SigchldFreeze, GraphctlSocketPath, EarlyMounts, ReplyOverflow, ValidateIgnoresCycles, AnalyzeDepthAlwaysZero, CgroupControllersOff, KexecAcceptsUnknownMagic, KexecOptionWordUpgrades,
         HotSwapDropsConnections, CriuExecArgv, CheckpointListUnreachable, RestoreKillsService, ServiceOutsideItsPidNamespace, UpgradeWaitsForService, RenameNotNoticed];
}
