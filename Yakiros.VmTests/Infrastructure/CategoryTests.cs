using Xunit.Abstractions;
using Yakiros.VmFixtures;
using Yakiros.VmFixtures.Yakiros;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>Base of a category class: each test starts with <see cref="GuestAsync"/>, which gives it the category's clean guest.</summary>
[Collection(YakirosCollection.Name)]
public abstract class CategoryTests(YakirosVmFixture fixture, ITestOutputHelper output)
{
    protected YakirosVmFixture Fixture { get; } = fixture;
    protected ITestOutputHelper Output { get; } = output;

    protected async Task<(VirtualMachine Vm, GraphCtl Ctl)> GuestAsync()
    {
        var vm = await Fixture.EnterCategoryAsync(GetType().Name);
        return (vm, new GraphCtl(vm.Shell));
    }

    /// <summary>Runs <paramref name="body"/> under the known-defect marker <paramref name="defect"/>.</summary>
    protected Task ExpectDefectAsync(Defect defect, Func<Task> body) => KnownDefect.ExpectAsync(defect, Fixture.Options, body);

    /// <summary>The same, for assertions on values the test already has.</summary>
    protected Task ExpectDefectAsync(Defect defect, Action assertions) =>
        ExpectDefectAsync(defect, () =>
        {
            assertions();
            return Task.CompletedTask;
        });
}
