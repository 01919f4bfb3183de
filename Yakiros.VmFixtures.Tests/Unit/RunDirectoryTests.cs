using FluentAssertions;
using Yakiros.VmFixtures;

namespace Yakiros.VmFixtures.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RunDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("yakiros-rundir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_new_folder_of_a_live_test_host_is_never_swept_even_before_it_holds_a_file()
    {
        var another = Directory.CreateDirectory(Path.Combine(_root, $"run-{Environment.ProcessId}-justmade")).FullName;

        var mine = RunDirectory.Create(_root);

        Directory.Exists(another).Should().BeTrue("its owner (this process) is alive, though the folder is still empty");
        Directory.Exists(mine.Path).Should().BeTrue();
        RunDirectory.OwnerOf(mine.Path).Should().Be(Environment.ProcessId);
    }

    [Fact]
    public void The_folders_of_test_hosts_that_are_gone_are_swept_unless_kept()
    {
        var gone = Directory.CreateDirectory(Path.Combine(_root, "run-2147483647-abandoned")).FullName; // above any pid_max
        var kept = Directory.CreateDirectory(Path.Combine(_root, "run-2147483646-kept")).FullName;
        File.WriteAllText(new RunDirectory(kept).KeepMarker, "kept after a failure");
        var unnamed = Directory.CreateDirectory(Path.Combine(_root, "run-old-style")).FullName;

        RunDirectory.Create(_root);

        Directory.Exists(gone).Should().BeFalse("its test host is gone");
        Directory.Exists(unnamed).Should().BeFalse("no live owner is named");
        Directory.Exists(kept).Should().BeTrue("a kept VM stays until the user stops it");
    }
}
