using Xunit.Abstractions;
using Xunit.Sdk;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// A <see cref="SkippableFactAttribute"/> for tests that run in the guest: when such a test fails, the fixture's
/// failure artifacts (console tail, resolver log, `graphctl status`, dmesg) are saved under
/// TestResults/&lt;run&gt;/&lt;Class&gt;.&lt;Method&gt;/ and appended to the test's output.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[XunitTestCaseDiscoverer("Yakiros.VmTests.Infrastructure.GuestFactDiscoverer", "Yakiros.VmTests")]
public sealed class GuestFactAttribute : SkippableFactAttribute;

/// <summary>Something that can tell, after a failure, what the guest looked like.</summary>
public interface IFailureArtifactSource
{
    /// <summary>Collects the artifacts of the failed test into <c>TestResults/&lt;run&gt;/&lt;test&gt;/</c>; returns the folder and a text digest.</summary>
    Task<(string Directory, string Digest)> SaveFailureArtifactsAsync(string testDisplayName, CancellationToken cancellationToken);
}

public sealed class GuestFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        yield return new GuestTestCase(SkippableFactDiscoverer.GetSkippableExceptionNames(factAttribute), diagnosticMessageSink,
            discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
    }
}

public sealed class GuestTestCase : SkippableFactTestCase
{
    [Obsolete("Called by the de-serializer", true)]
    public GuestTestCase()
    {
    }

    public GuestTestCase(string[] skippingExceptionNames, IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod testMethod)
        : base(skippingExceptionNames, diagnosticMessageSink, display, displayOptions, testMethod)
    {
    }

    public override Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        var source = constructorArguments.OfType<IFailureArtifactSource>().FirstOrDefault();
        var bus = source is null ? messageBus : new FailureArtifactBus(messageBus, source);
        return base.RunAsync(diagnosticMessageSink, bus, constructorArguments, aggregator, cancellationTokenSource);
    }
}

/// <summary>Passes every message on; a real failure (not a skip, not a known defect) first gets the artifacts into its output.</summary>
internal sealed class FailureArtifactBus(IMessageBus inner, IFailureArtifactSource source) : IMessageBus
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(45);

    public bool QueueMessage(IMessageSinkMessage message)
    {
        if (message is ITestFailed failed) message = WithArtifacts(failed);
        return inner.QueueMessage(message);
    }

    private ITestFailed WithArtifacts(ITestFailed failed)
    {
        string addition;
        try
        {
            using var deadline = new CancellationTokenSource(Budget);
            // The runner waits here (bounded): the artifacts must be in the output before the failure is reported.
            var (dir, digest) = Task.Run(() => source.SaveFailureArtifactsAsync(failed.Test.DisplayName, deadline.Token)).GetAwaiter().GetResult();
            addition = $"\n===== failure artifacts, saved in {dir} =====\n{digest}";
        }
        catch (Exception e)
        {
            addition = $"\n===== failure artifacts could not be collected: {e.GetType().Name}: {e.Message} =====";
        }
        return new TestFailed(failed.Test, failed.ExecutionTime, failed.Output + addition, failed.ExceptionTypes, failed.Messages,
            failed.StackTraces, failed.ExceptionParentIndices);
    }

    public void Dispose()
    {
    }
}
