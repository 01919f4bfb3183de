namespace Yakiros.VmFixtures.Xunit;

/// <summary>
/// The clean guest that fixtures sharing this store start their later guests from (<see cref="VmFixture.Templates"/>):
/// the first boot saves it, and every later guest (another fixture's, or a replacement for a guest that died) starts
/// from it in about 2 s. It is removed when the test process exits (or, after a crash, by the next run's sweep).
/// </summary>
public sealed class GuestTemplateStore
{
    private readonly Lock _lock = new();
    private GuestTemplate? _template;

    public GuestTemplateStore() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Clear();

    /// <summary>The saved clean guest, or null when none was saved (or its files are gone).</summary>
    public GuestTemplate? Current
    {
        get
        {
            lock (_lock) return _template is { IsComplete: true } template ? template : null;
        }
    }

    /// <summary>Keeps <paramref name="template"/> for later guests (a template saved before it is removed).</summary>
    public void Publish(GuestTemplate template)
    {
        GuestTemplate? old;
        lock (_lock) (old, _template) = (_template, template);
        old?.Delete();
    }

    public void Clear()
    {
        GuestTemplate? old;
        lock (_lock) (old, _template) = (_template, null);
        old?.Delete();
    }
}
