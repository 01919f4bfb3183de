namespace Yakiros.VmFixtures;

/// <summary>POSIX shell quoting for values put into guest command lines.</summary>
public static class ShellQuote
{
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''") + "'";
}
