namespace Yakiros.VmFixtures;

/// <summary>
/// The guest's pulse: cancelled the moment QEMU exits or the kernel panics, so that every waiting operation ends
/// at once. <see cref="RunAsync{T}"/> gives each guest operation its deadline and turns every way of not finishing
/// into a message that says what happened and shows the console tail.
/// </summary>
public sealed class GuestLifeline(Func<string> consoleTail) : IDisposable
{
    private readonly CancellationTokenSource _dead = new();
    private volatile string? _reason;

    public CancellationToken Token => _dead.Token;

    public bool IsDead => _reason is not null;

    public string? Reason => _reason;

    public string ConsoleTail() => consoleTail();

    public void Kill(string reason)
    {
        if (_reason is not null) return;
        _reason = reason;
        try { _dead.Cancel(); } catch (ObjectDisposedException) { }
    }

    public GuestDiedException DeathException(string during) =>
        new($"The guest died during {during}: {_reason}\n--- console tail ---\n{ConsoleTail()}");

    /// <summary>Runs <paramref name="operation"/> with a deadline; <paramref name="seen"/> says what was observed when it times out.</summary>
    public async Task<T> RunAsync<T>(string what, TimeSpan timeout, CancellationToken cancellationToken,
        Func<CancellationToken, Task<T>> operation, Func<string>? seen = null)
    {
        if (IsDead) throw DeathException(what);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _dead.Token);
        linked.CancelAfter(timeout);
        try
        {
            return await operation(linked.Token);
        }
        catch (Exception e) when (IsDead && e is not GuestDiedException)
        {
            throw DeathException(what);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var observed = seen?.Invoke() is { Length: > 0 } s ? $"\nLast seen: {s}" : "";
            throw new GuestTimeoutException(
                $"{what} did not finish within {timeout.TotalSeconds:0.#} s.{observed}\n--- console tail ---\n{ConsoleTail()}");
        }
    }

    public void Dispose() => _dead.Dispose();
}
