using Tomlyn;
using Tomlyn.Model;

namespace Yakiros.VmFixtures.Yakiros;

/// <summary>One component TOML as the host reads it: what the guest's /etc/graph.d will hold.</summary>
public sealed record ComponentDefinition(
    string File, string Name, string Type, string Binary,
    IReadOnlyList<string> Provides, IReadOnlyList<string> Requires, TomlTable Table)
{
    public bool IsOneshot => Type == "oneshot";

    /// <summary>A value under [section] key, or null.</summary>
    public string? Value(string section, string key) =>
        Table.TryGetValue(section, out var s) && s is TomlTable t && t.TryGetValue(key, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>Parses and checks every *.toml in <paramref name="directory"/>; a bad file fails with its name and line.</summary>
    public static IReadOnlyList<ComponentDefinition> LoadAll(string directory) =>
        Directory.GetFiles(directory, "*.toml").Order(StringComparer.Ordinal).Select(Load).ToList();

    public static ComponentDefinition Load(string path)
    {
        var name = Path.GetFileName(path);
        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize<TomlTable>(System.IO.File.ReadAllText(path), new TomlSerializerOptions { SourceName = name })
                    ?? throw new ComponentFileException($"{name}: empty file");
        }
        catch (TomlException e)
        {
            throw new ComponentFileException($"{name}:{e.Line}:{e.Column}: invalid TOML: {e.Message}");
        }
        var component = table.TryGetValue("component", out var c) && c is TomlTable ct ? ct
            : throw new ComponentFileException($"{name}: no [component] table");
        string Required(string key) => component.TryGetValue(key, out var v) && v is string s && s.Length > 0
            ? s : throw new ComponentFileException($"{name}: [component] {key} is missing (YakirOS skips such a file)");
        var binary = Required("binary");
        if (!binary.StartsWith('/'))
            throw new ComponentFileException($"{name}: [component] binary = \"{binary}\" must be an absolute path (YakirOS execv()s it without a PATH search)");
        return new ComponentDefinition(name, Required("name"), component.TryGetValue("type", out var t) ? t as string ?? "service" : "service", binary,
            Capabilities(table, "provides", name), Capabilities(table, "requires", name), table);
    }

    private static IReadOnlyList<string> Capabilities(TomlTable table, string section, string file)
    {
        if (!table.TryGetValue(section, out var s)) return [];
        if (s is not TomlTable t || !t.TryGetValue("capabilities", out var caps)) return [];
        return caps is TomlArray array
            ? array.Select(x => x as string ?? throw new ComponentFileException($"{file}: [{section}] capabilities must be strings")).ToList()
            : throw new ComponentFileException($"{file}: [{section}] capabilities must be an array on one line");
    }
}

/// <summary>A component file is not valid; the message names the file (and line).</summary>
public sealed class ComponentFileException(string message) : VmException(message);
