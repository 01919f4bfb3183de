using Yakiros.VmTests.Infrastructure;

// In each class, the tests that only read the guest run first, so that they can share one clean guest (see CleanStateProof).
[assembly: TestCaseOrderer("Yakiros.VmTests.Infrastructure." + nameof(ReadOnlyFirstOrderer), "Yakiros.VmTests")]

// All three guests' collections must run at once: xUnit starts no more collections than it has threads (2 on this machine,
// so the third guest waited for the first to finish: published run 275 s -> 341 s). Their tests mostly await the guest.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
