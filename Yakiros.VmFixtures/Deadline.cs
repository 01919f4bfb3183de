namespace Yakiros.VmFixtures;

/// <summary>The one deadline-bound wait: polls a condition until it holds, and on the deadline says what was seen.</summary>
public static class Deadline
{
    /// <summary>
    /// Calls <paramref name="condition"/> every <paramref name="interval"/> until it returns true. When
    /// <paramref name="timeout"/> passes first, throws <see cref="GuestTimeoutException"/> with
    /// <paramref name="describeTimeout"/>'s text (what the last poll saw).
    /// </summary>
    public static async Task PollAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, TimeSpan interval,
        Func<string> describeTimeout, CancellationToken cancellationToken = default)
    {
        if (!await UntilAsync(condition, timeout, interval, cancellationToken)) throw new GuestTimeoutException(describeTimeout());
    }

    /// <summary>The same wait for a test that decides on the outcome itself: true when the condition held before the deadline.</summary>
    public static Task<bool> UntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, TimeSpan interval,
        CancellationToken cancellationToken = default) =>
        HarnessTimes.WaitAsync(() => PollUntilAsync(condition, timeout, interval, cancellationToken));

    private static async Task<bool> PollUntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, TimeSpan interval,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (!await condition(deadline.Token)) await Task.Delay(interval, deadline.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (GuestTimeoutException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
