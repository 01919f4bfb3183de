using static Yakiros.VmTool.Html;

namespace Yakiros.VmTool;

/// <summary>Inline SVG charts of the dashboard: no script, no external resource; every text escaped.</summary>
internal static class SvgCharts
{
    public const string PassColour = "#2e7d32";
    public const string FailColour = "#c62828";
    public const string KnownColour = "#d97706";
    public const string SkipColour = "#a3a3a3";
    private const string Ink = "#1f2328";
    private const string Muted = "#6b7280";
    private const string GridColour = "#e5e7eb";
    private const string LineColour = "#2563eb";
    private const string Font = "font-family=\"system-ui,'DejaVu Sans',sans-serif\"";

    /// <summary>A thin horizontal bar split in proportion to the outcomes.</summary>
    public static string OutcomeBar(int passed, int failed, int known, int skipped, int width = 200, int height = 12)
    {
        var total = passed + failed + known + skipped;
        var svg = new System.Text.StringBuilder($"<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{passed} passed, {failed} failed, {known} known defects, {skipped} skipped\">");
        if (total == 0) svg.Append($"<rect width=\"{width}\" height=\"{height}\" rx=\"3\" fill=\"{GridColour}\"/>");
        double x = 0;
        foreach (var (count, colour, what) in new[] { (passed, PassColour, "passed"), (known, KnownColour, "known defects"), (failed, FailColour, "failed"), (skipped, SkipColour, "skipped") })
        {
            if (count == 0 || total == 0) continue;
            var w = width * (double)count / total;
            svg.Append($"<rect x=\"{F(x)}\" width=\"{F(w)}\" height=\"{height}\" fill=\"{colour}\"><title>{count} {what}</title></rect>");
            x += w;
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>The measured value as a bar against the effective target (dashed line; the unscaled target dotted when the timing scale moved it).</summary>
    public static string MetricBar(PerformanceMetric m, int width = 540)
    {
        const int height = 70, left = 10, right = 14, barY = 22, barH = 22, axisY = 50;
        var plot = width - left - right;
        var value = m.Value ?? 0;
        var unscaled = m.Scale is { } s && s != 1 && m.Target is { } t0 ? t0 : (double?)null;
        var top = new[] { value, m.EffectiveTarget ?? 0, unscaled ?? 0 }.Max();
        var (step, max) = Axis(0, top <= 0 ? 1 : top * 1.08, 4);
        double X(double v) => left + plot * Math.Clamp(v / max, 0, 1);
        var colour = m.WithinTarget switch { true => PassColour, false => FailColour, null => LineColour };
        var svg = new System.Text.StringBuilder($"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" {Font} font-size=\"11\" role=\"img\" aria-label=\"{E(m.Name)}\">");
        for (var tick = 0.0; tick <= max + step / 2; tick += step)
        {
            svg.Append($"<line x1=\"{F(X(tick))}\" x2=\"{F(X(tick))}\" y1=\"{barY - 4}\" y2=\"{axisY}\" stroke=\"{GridColour}\"/>");
            var anchor = tick == 0 ? "start" : tick + step / 2 > max ? "end" : "middle";
            svg.Append($"<text x=\"{F(X(tick))}\" y=\"{axisY + 13}\" text-anchor=\"{anchor}\" fill=\"{Muted}\">{E(Num(tick))}</text>");
        }
        svg.Append($"<line x1=\"{left}\" x2=\"{left + plot}\" y1=\"{axisY}\" y2=\"{axisY}\" stroke=\"#cbd5e1\"/>");
        if (m.Value is not null)
        {
            var bw = Math.Max(1, X(value) - left);
            svg.Append($"<rect x=\"{left}\" y=\"{barY}\" width=\"{F(bw)}\" height=\"{barH}\" rx=\"3\" fill=\"{colour}\"><title>{E($"{Num(value)} {m.Unit}")}</title></rect>");
            var label = E($"{Num(value)} {m.Unit}".Trim());
            svg.Append(bw > 90
                ? $"<text x=\"{F(left + bw - 6)}\" y=\"{barY + 15}\" text-anchor=\"end\" fill=\"#fff\" font-weight=\"600\">{label}</text>"
                : $"<text x=\"{F(left + bw + 6)}\" y=\"{barY + 15}\" fill=\"{Ink}\" font-weight=\"600\">{label}</text>");
        }
        if (unscaled is { } u)
            svg.Append(TargetMarker(X(u), barY, axisY, "2 3", Muted, Math.Abs(X(u) - X(m.EffectiveTarget ?? u)) > 110 ? $"unscaled {Num(u)}" : null, left, width - right));
        if (m.EffectiveTarget is { } target)
            svg.Append(TargetMarker(X(target), barY, axisY, "5 3", Ink, $"target {(m.IsMinimum ? "≥" : "≤")} {Num(target)}", left, width - right));
        return svg.Append("</svg>").ToString();
    }

    private static string TargetMarker(double x, int barY, int axisY, string dash, string colour, string? label, int minX, int maxX)
    {
        var anchor = x > maxX - 60 ? "end" : x < minX + 60 ? "start" : "middle";
        var text = label is null ? "" : $"<text x=\"{F(x)}\" y=\"{barY - 7}\" text-anchor=\"{anchor}\" fill=\"{colour}\">{E(label)}</text>";
        return $"<line x1=\"{F(x)}\" x2=\"{F(x)}\" y1=\"{barY - 4}\" y2=\"{axisY}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>{text}";
    }

    /// <summary>
    /// A line over runs (gaps where a run has no value), with an optional dashed target series; the last point is the
    /// current run, drawn larger. <paramref name="fixedMax"/> pins the y axis (100 for a percentage).
    /// </summary>
    public static string LineChart(IReadOnlyList<string> labels, IReadOnlyList<double?> values, string unit,
                                   IReadOnlyList<double?>? targets = null, double? fixedMax = null, int width = 1160, int height = 220,
                                   bool bridgeGaps = false)
    {
        const int left = 52, right = 18, top = 18, bottom = 42;
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        var all = values.Concat(targets ?? []).OfType<double>().ToList();
        var (step, max) = Axis(0, fixedMax ?? (all.Count == 0 ? 1 : Math.Max(all.Max() * 1.15, 1e-9)), 4);
        double X(int i) => labels.Count == 1 ? left + plotW / 2.0 : left + 34 + (plotW - 68) * i / (double)(labels.Count - 1);
        double Y(double v) => top + plotH * (1 - Math.Clamp(v / max, 0, 1));
        var svg = new System.Text.StringBuilder($"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" {Font} font-size=\"11\" role=\"img\">");
        for (var tick = 0.0; tick <= max + step / 2; tick += step)
            svg.Append($"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(Y(tick))}\" y2=\"{F(Y(tick))}\" stroke=\"{GridColour}\"/>")
               .Append($"<text x=\"{left - 6}\" y=\"{F(Y(tick) + 4)}\" text-anchor=\"end\" fill=\"{Muted}\">{E(Num(tick) + unit)}</text>");
        XLabels(svg, labels, X, height - bottom + 16, plotW);
        if (targets is not null) svg.Append(Polylines(targets, X, Y, FailColour, "6 4", 1.5, bridgeGaps));
        svg.Append(Polylines(values, X, Y, LineColour, null, 2.5, bridgeGaps));
        var showValues = labels.Count <= 24;
        for (var i = 0; i < values.Count; i++)
        {
            var last = i == values.Count - 1;
            if (targets?[i] is { } target)
                svg.Append($"<line x1=\"{F(X(i) - 7)}\" x2=\"{F(X(i) + 7)}\" y1=\"{F(Y(target))}\" y2=\"{F(Y(target))}\" stroke=\"{FailColour}\" stroke-width=\"2\"><title>{E($"{labels[i]}: target {Num(target)}{unit}")}</title></line>");
            if (values[i] is not { } v)
            {
                if (!bridgeGaps) svg.Append($"<text x=\"{F(X(i))}\" y=\"{F(Y(0) - 6)}\" text-anchor=\"middle\" fill=\"{Muted}\">n/a</text>");
                continue;
            }
            svg.Append($"<circle cx=\"{F(X(i))}\" cy=\"{F(Y(v))}\" r=\"{(last ? 5.5 : 3.5)}\" fill=\"{(last ? "#fff" : LineColour)}\" stroke=\"{LineColour}\" stroke-width=\"2\"><title>{E($"{labels[i]}: {Num(v)}{unit}")}</title></circle>");
            if (showValues)
                svg.Append(v / max < 0.08 // near the axis: beside the point, not on the line
                    ? $"<text x=\"{F(X(i) + 9)}\" y=\"{F(Y(v) - 4)}\" fill=\"{Ink}\">{E(Num(v) + unit)}</text>"
                    : $"<text x=\"{F(X(i))}\" y=\"{F(Y(v) - 9)}\" text-anchor=\"middle\" fill=\"{Ink}\">{E(Num(v) + unit)}</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Stacked bars per run: passed, known defects, failed, skipped; the total above each bar.</summary>
    public static string OutcomesPerRun(IReadOnlyList<string> labels, IReadOnlyList<HistoryPoint> runs, int width = 1160, int height = 220)
    {
        const int left = 52, right = 18, top = 18, bottom = 42;
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        var (step, max) = Axis(0, Math.Max(1, runs.Max(r => r.Passed + r.Failed + r.KnownDefect + r.Skipped) * 1.12), 4);
        var slot = plotW / (double)Math.Max(1, runs.Count);
        var barW = Math.Min(40, slot * 0.6);
        double X(int i) => left + slot * (i + 0.5);
        double H(double v) => plotH * v / max;
        var svg = new System.Text.StringBuilder($"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" {Font} font-size=\"11\" role=\"img\">");
        for (var tick = 0.0; tick <= max + step / 2; tick += step)
            svg.Append($"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(top + plotH - H(tick))}\" y2=\"{F(top + plotH - H(tick))}\" stroke=\"{GridColour}\"/>")
               .Append($"<text x=\"{left - 6}\" y=\"{F(top + plotH - H(tick) + 4)}\" text-anchor=\"end\" fill=\"{Muted}\">{E(Num(tick))}</text>");
        XLabels(svg, labels, X, height - bottom + 16, plotW);
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            double y = top + plotH;
            foreach (var (count, colour, what) in new[] { (r.Passed, PassColour, "passed"), (r.KnownDefect, KnownColour, "known defects"), (r.Failed, FailColour, "failed"), (r.Skipped, SkipColour, "skipped") })
            {
                if (count == 0) continue;
                y -= H(count);
                svg.Append($"<rect x=\"{F(X(i) - barW / 2)}\" y=\"{F(y)}\" width=\"{F(barW)}\" height=\"{F(H(count))}\" fill=\"{colour}\"><title>{E($"{labels[i]}: {count} {what}")}</title></rect>");
            }
            var total = r.Passed + r.Failed + r.KnownDefect + r.Skipped;
            svg.Append($"<text x=\"{F(X(i))}\" y=\"{F(y - 4)}\" text-anchor=\"middle\" fill=\"{Ink}\">{total}</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Run labels under the x axis, every n-th one so that they never overlap (about 80 px each), and always the last.</summary>
    private static void XLabels(System.Text.StringBuilder svg, IReadOnlyList<string> labels, Func<int, double> x, double y, int plotWidth)
    {
        var every = Math.Max(1, (int)Math.Ceiling(labels.Count / Math.Max(1.0, plotWidth / 80.0)));
        for (var i = 0; i < labels.Count; i++)
            if ((i % every == 0 && labels.Count - 1 - i >= every) || i == labels.Count - 1)
                svg.Append($"<text x=\"{F(x(i))}\" y=\"{F(y)}\" text-anchor=\"middle\" fill=\"{Muted}\">{E(labels[i])}</text>");
    }

    /// <summary>Lines through consecutive values; a run without a value breaks the line unless <paramref name="bridgeGaps"/>.</summary>
    private static string Polylines(IReadOnlyList<double?> values, Func<int, double> x, Func<double, double> y, string colour, string? dash, double strokeWidth, bool bridgeGaps)
    {
        var lines = new System.Text.StringBuilder();
        var points = new List<string>();
        void Flush()
        {
            if (points.Count > 1)
                lines.Append($"<polyline points=\"{string.Join(' ', points)}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{F(strokeWidth)}\"{(dash is null ? "" : $" stroke-dasharray=\"{dash}\"")}/>");
            points.Clear();
        }
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i] is { } v) points.Add($"{F(x(i))},{F(y(v))}");
            else if (!bridgeGaps) Flush();
        }
        Flush();
        return lines.ToString();
    }

    /// <summary>A "nice" tick step (1, 2, 2.5 or 5 × 10^n) and the axis maximum it rounds <paramref name="max"/> up to.</summary>
    public static (double Step, double Max) Axis(double min, double max, int ticks)
    {
        var raw = (max - min) / ticks;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var nice = (raw / magnitude) switch { <= 1 => 1, <= 2 => 2, <= 2.5 => 2.5, <= 5 => 5, _ => 10 } * magnitude;
        return (nice, Math.Ceiling(max / nice - 1e-9) * nice);
    }
}
