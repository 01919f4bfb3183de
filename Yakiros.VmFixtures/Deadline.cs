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
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (!await condition(deadline.Token)) await Task.Delay(interval, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GuestTimeoutException(describeTimeout());
        }
        catch (GuestTimeoutException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new GuestTimeoutException(describeTimeout());
        }
    }
}
