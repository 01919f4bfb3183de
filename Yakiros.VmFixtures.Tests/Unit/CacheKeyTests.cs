namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CacheKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("yakiros-key-").FullName;

    public CacheKeyTests()
    {
        Write("mkimage.sh", "echo image");
        Write("rootfs/packages.txt", "openssh-server\n");
    }

    private void Write(string relative, string content)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    [Fact]
    public void Same_recipe_gives_same_key() =>
        CacheKey.Compute(_dir).Should().Be(CacheKey.Compute(_dir)).And.HaveLength(20);

    [Fact]
    public void Changing_a_file_changes_the_key()
    {
        var before = CacheKey.Compute(_dir);
        Write("rootfs/packages.txt", "openssh-server\ncriu\n");

        CacheKey.Compute(_dir).Should().NotBe(before);
    }

    [Fact]
    public void Adding_or_renaming_a_file_changes_the_key()
    {
        var before = CacheKey.Compute(_dir);
        Write("overlay/etc/motd", "");
        var added = CacheKey.Compute(_dir);
        File.Move(Path.Combine(_dir, "overlay/etc/motd"), Path.Combine(_dir, "overlay/etc/motd2"));

        added.Should().NotBe(before);
        CacheKey.Compute(_dir).Should().NotBe(added);
    }

    [Fact]
    public void Making_a_script_executable_changes_the_key()
    {
        var before = CacheKey.Compute(_dir);
        File.SetUnixFileMode(Path.Combine(_dir, "mkimage.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        CacheKey.Compute(_dir).Should().NotBe(before);
    }

    [Fact]
    public void The_salt_chains_the_rootfs_key_into_the_image_key() =>
        CacheKey.Compute(_dir, "rootfs-a").Should().NotBe(CacheKey.Compute(_dir, "rootfs-b"));

    [Fact]
    public void Editor_backups_and_hidden_files_do_not_change_the_key()
    {
        var before = CacheKey.Compute(_dir);
        Write("mkimage.sh~", "old");
        Write(".mkimage.sh.swp", "swap");
        Write("rootfs/.cache/x", "junk");

        CacheKey.Compute(_dir).Should().Be(before);
    }

    [Fact]
    public void Key_does_not_depend_on_where_the_recipe_lives()
    {
        var copy = Directory.CreateTempSubdirectory("yakiros-key-copy-").FullName;
        try
        {
            foreach (var file in CacheKey.RecipeFiles(_dir))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(_dir, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            CacheKey.Compute(copy).Should().Be(CacheKey.Compute(_dir));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
