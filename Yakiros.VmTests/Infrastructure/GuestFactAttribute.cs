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
public sealed class GuestFactAttribute : SkippableFactAttribute
{
    /// <summary>
    /// The test only reads the guest (status, replies, /proc, cgroupfs). Such tests run first in their class, and after
    /// one the harness fingerprints the guest (<see cref="CleanStateProof"/>): when nothing changed, the next test
    /// starts without a restore. A fingerprint that differs only costs the restore it would have saved.
    /// </summary>
    public bool ReadsOnly { get; set; }
}

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
            discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod,
            factAttribute.GetNamedArgument<bool>(nameof(GuestFactAttribute.ReadsOnly)));
    }
}

public sealed class GuestTestCase : SkippableFactTestCase
{
    [Obsolete("Called by the de-serializer", true)]
    public GuestTestCase()
    {
    }

    public GuestTestCase(string[] skippingExceptionNames, IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions,
        ITestMethod testMethod, bool readsOnly)
        : base(skippingExceptionNames, diagnosticMessageSink, display, displayOptions, testMethod)
    {
        ReadsOnly = readsOnly;
    }

    /// <summary>Declared with <see cref="GuestFactAttribute.ReadsOnly"/>.</summary>
    public bool ReadsOnly { get; private set; }

    /// <summary>True while a test declared <see cref="GuestFactAttribute.ReadsOnly"/> runs (its constructor, body and disposal).</summary>
    public static bool CurrentReadsOnly => Current.Value;

    private static readonly AsyncLocal<bool> Current = new();

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue(nameof(ReadsOnly), ReadsOnly);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        base.Deserialize(data);
        ReadsOnly = data.GetValue<bool>(nameof(ReadsOnly));
    }

    public override Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments,
        ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        Current.Value = ReadsOnly; // flows into the test's run only
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

/// <summary>
/// Runs the tests of a class that only read the guest first (then the others), each group by name: after the first
/// read-only test has its clean guest, the next ones can start without a restore (see <see cref="CleanStateProof"/>).
/// </summary>
public sealed class ReadOnlyFirstOrderer : ITestCaseOrderer
{
    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => t is GuestTestCase { ReadsOnly: true } ? 0 : 1).ThenBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal)
            .ThenBy(t => t.DisplayName, StringComparer.Ordinal);
}
