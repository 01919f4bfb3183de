using Microsoft.Extensions.Configuration;

namespace Yakiros.VmFixtures;

/// <summary>Reads <see cref="VmOptions"/> from appsettings.json, then YAKIROS_* environment variables (which win).</summary>
public static class VmOptionsLoader
{
    public const string EnvironmentPrefix = "YAKIROS_";

    public static VmOptions Load(string? baseDirectory = null, IDictionary<string, string?>? overrides = null, bool environment = true)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(baseDirectory ?? AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true);
        if (environment) builder.AddEnvironmentVariables(EnvironmentPrefix);
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
        return Bind(builder.Build());
    }

    public static VmOptions Bind(IConfiguration configuration)
    {
        var options = new VmOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new VmConfigurationException($"Invalid VM options: {e.Message} (check appsettings.json and the {EnvironmentPrefix}* environment variables)", e);
        }
        options.Validate();
        return options;
    }
}
