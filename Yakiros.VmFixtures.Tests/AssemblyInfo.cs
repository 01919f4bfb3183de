using Yakiros.VmFixtures.Tests.SelfTests;

// The guest's collection starts first: its boot is the longest thing here, and the unit tests fill the other thread meanwhile.
[assembly: TestCollectionOrderer("Yakiros.VmFixtures.Tests.SelfTests." + nameof(GuestFirstOrderer), "Yakiros.VmFixtures.Tests")]
