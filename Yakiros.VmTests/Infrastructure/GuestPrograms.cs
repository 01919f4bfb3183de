namespace Yakiros.VmTests.Infrastructure;

/// <summary>Shell snippets that change which programs the guest has (the snapshot restore undoes them).</summary>
public static class GuestPrograms
{
    /// <summary>
    /// Moves <paramref name="program"/> out of every bin and sbin folder (YakirOS looks at fixed paths or PATH; a
    /// symlink such as /sbin -> usr/sbin is left alone) and fails unless the program is then gone from PATH.
    /// </summary>
    public static string HideCommand(string program) =>
        $"for f in /usr/sbin/{program} /usr/bin/{program} /sbin/{program} /bin/{program}; do [ -e $f ] && [ ! -L $f ] && mv $f $f.hidden; done; ! command -v {program}";
}
