namespace Yakiros.VmTests.Infrastructure;

/// <summary>
/// One measured Step-11 performance number against its target, as written to TestResults/&lt;run&gt;/metrics/&lt;name&gt;.json
/// (read by the JSON summary and the dashboard). <see cref="Comparison"/> "max": the value must not exceed
/// <see cref="EffectiveTarget"/> (the document's target times <see cref="Scale"/>).
/// </summary>
public sealed record Metric(string Name, string Title, double Value, string Unit, double Target, string Comparison, double Scale,
    double EffectiveTarget, bool WithinTarget, string Method, string Test, DateTimeOffset MeasuredAt)
{
    public static Metric AtMost(string name, string title, double value, string unit, double target, double scale, string method, string test) =>
        new(name, title, Math.Round(value, 2), unit, target, "max", scale, target * scale, value <= target * scale, method, test, DateTimeOffset.UtcNow);

    public string Describe() =>
        $"{Title}: {Value:0.##} {Unit} (target ≤ {Target:0.##} {Unit}{(Scale != 1 ? $" × {Scale:0.##} for TCG = {EffectiveTarget:0.##} {Unit}" : "")}): " +
        $"{(WithinTarget ? "within target" : "OVER TARGET")}. Method: {Method}";
}
