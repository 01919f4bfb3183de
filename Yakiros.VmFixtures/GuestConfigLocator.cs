namespace Yakiros.VmFixtures;

/// <summary>Finds the repository's guest-config folder.</summary>
public static class GuestConfigLocator
{
    public static string Find(VmOptions options)
    {
        if (options.GuestConfigDir is { Length: > 0 } configured)
        {
            var full = Path.GetFullPath(configured);
            return IsGuestConfig(full)
                ? full
                : throw new VmConfigurationException($"YAKIROS_GUESTCONFIGDIR={configured} is not a guest-config folder (it has no mkimage.sh).");
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "guest-config");
            if (IsGuestConfig(candidate)) return candidate;
        }
        throw new VmConfigurationException(
            $"Cannot find the guest-config folder above {AppContext.BaseDirectory}. Run the tests from the repository, or set YAKIROS_GUESTCONFIGDIR.");
    }

    private static bool IsGuestConfig(string dir) => File.Exists(Path.Combine(dir, "mkimage.sh"));
}
