using System.Text.RegularExpressions;

namespace Yakiros.VmTests.Infrastructure;

/// <summary>A DOT edge with its colour (red: requires, green: provides).</summary>
public sealed record DotEdge(string From, string To, string Color);

/// <summary>A small, strict reader of the `dot` reply: the digraph must be well formed; the legend cluster is left out.</summary>
public static partial class DotGraph
{
    public static IReadOnlyList<DotEdge> ParseEdges(string dot)
    {
        var text = dot.Trim();
        if (!text.StartsWith("digraph ", StringComparison.Ordinal) || !text.EndsWith('}'))
            throw new FormatException($"not a digraph:\n{dot}");
        if (text.Count(c => c == '{') != text.Count(c => c == '}'))
            throw new FormatException($"unbalanced braces:\n{dot}");
        var body = Legend().Replace(text, "");
        var edges = new List<DotEdge>();
        foreach (var line in body.Split('\n').Select(l => l.Trim()))
        {
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal) || line is "}" || line.StartsWith("digraph", StringComparison.Ordinal)) continue;
            if (!line.EndsWith(';')) throw new FormatException($"statement without ';': {line}");
            var m = Edge().Match(line);
            if (m.Success) edges.Add(new DotEdge(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value));
        }
        return edges;
    }

    [GeneratedRegex(@"subgraph\s+cluster_legend\s*\{[^}]*\}", RegexOptions.Singleline)]
    private static partial Regex Legend();

    [GeneratedRegex("^\"([^\"]+)\"\\s*->\\s*\"([^\"]+)\"\\s*\\[[^\\]]*color=(\\w+)")]
    private static partial Regex Edge();
}
