namespace Yakiros.VmFixtures;

/// <summary>A base for every failure the harness explains: the message names the cause and the fix.</summary>
public class VmException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The options cannot work.</summary>
public sealed class VmConfigurationException(string message, Exception? inner = null) : VmException(message, inner);

/// <summary>A host prerequisite is missing; tests turn this into a skip carrying <see cref="Exception.Message"/>.</summary>
public sealed class PrerequisiteMissingException(string message) : VmException(message);

/// <summary>The guest image could not be built.</summary>
public sealed class ImageBuildException(string message, Exception? inner = null) : VmException(message, inner);

/// <summary>QEMU exited or the guest kernel panicked: every waiting operation ends with this.</summary>
public sealed class GuestDiedException(string message) : VmException(message);

/// <summary>A guest operation missed its deadline; the message says what was seen.</summary>
public sealed class GuestTimeoutException(string message) : VmException(message);

/// <summary>A guest command that had to succeed did not.</summary>
public sealed class GuestCommandFailedException(string message, CommandResult result) : VmException(message)
{
    public CommandResult Result { get; } = result;
}
