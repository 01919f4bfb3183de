using System.Runtime.CompilerServices;

// The unit tests check the summary computation and the dashboard directly.
[assembly: InternalsVisibleTo("Yakiros.VmFixtures.Tests")]
