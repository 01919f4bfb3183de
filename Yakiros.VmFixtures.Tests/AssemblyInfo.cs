using Yakiros.VmFixtures.Tests.SelfTests;

// The guests' collections start first: their boots are the longest things here, and the unit tests run while they wait.
[assembly: TestCollectionOrderer("Yakiros.VmFixtures.Tests.SelfTests." + nameof(GuestFirstOrderer), "Yakiros.VmFixtures.Tests")]
