using Yakiros.VmTests.Infrastructure;

// In each class, the tests that only read the guest run first, so that they can share one clean guest (see CleanStateProof).
[assembly: TestCaseOrderer("Yakiros.VmTests.Infrastructure." + nameof(ReadOnlyFirstOrderer), "Yakiros.VmTests")]

// The guests' collections run side by side; their tests mostly await the guest, so each needs a thread only briefly.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
