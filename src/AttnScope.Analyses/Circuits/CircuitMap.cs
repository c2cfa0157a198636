using System.Text.Json.Nodes;
using AttnScope.Analyses.Results;
using AttnScope.Capture;

namespace AttnScope.Analyses.Circuits;

/// <summary>
/// One circuit analysis drawn as a labelled matrix: layers × heads (attribution, ablation, patching, head detector
/// scores) or layers × positions (residual patching, logit lens). Kept in a capture as the tensor
/// <c>analysis.circuits.{Kind}</c> [rows, cols] with the labels, metric and options in its info
/// (docs/analyses.md, "Circuits"); views draw it with a diverging colour map centred on 0 when <see cref="Signed"/>.
/// </summary>
internal sealed record CircuitMap
{
    /// <summary>Name prefix of circuit analyses in a capture.</summary>
    public const string Prefix = "circuits.";

    /// <summary>Lower-case name, e.g. <c>dla_heads</c>, <c>ablation_zero</c>, <c>patch_heads</c>, <c>induction_head</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>What the values are, for titles ("direct logit attribution to logit(5) − logit(7)").</summary>
    public required string Metric { get; init; }
    /// <summary>[rows, cols] row-major.</summary>
    public required FloatTensor Values { get; init; }
    public required string RowAxis { get; init; }
    public required string ColumnAxis { get; init; }
    public required IReadOnlyList<string> RowLabels { get; init; }
    public required IReadOnlyList<string> ColumnLabels { get; init; }
    /// <summary>Text printed in each cell instead of its value (e.g. the logit lens's top token), row-major; null prints values.</summary>
    public IReadOnlyList<string>? CellTexts { get; init; }
    /// <summary>Signed values (effects, attributions): drawn on a diverging scale centred on 0.</summary>
    public bool Signed { get; init; }
    /// <summary>The natural top of the colour scale (1 for probabilities and detector scores), or null to use the largest |value|.</summary>
    public float? ColorMax { get; init; }
    /// <summary>Options and scalar results (prompt ids, the clean and corrupted metric, …).</summary>
    public JsonObject Info { get; init; } = [];

    public int Rows => Values.Shape[0];
    public int Cols => Values.Shape[1];
    public float this[int row, int col] => Values.Data[row * Cols + col];

    /// <summary>Checks shape and label counts; one line naming the problem.</summary>
    public void Validate()
    {
        if (Values.Rank != 2) throw new AttnScopeException($"circuit map '{Kind}' has shape {Values.ShapeText}, expected [rows, cols]");
        if (RowLabels.Count != Rows) throw new AttnScopeException($"circuit map '{Kind}' has {RowLabels.Count} row labels for {Rows} rows");
        if (ColumnLabels.Count != Cols) throw new AttnScopeException($"circuit map '{Kind}' has {ColumnLabels.Count} column labels for {Cols} columns");
        if (CellTexts is not null && CellTexts.Count != Rows * Cols)
            throw new AttnScopeException($"circuit map '{Kind}' has {CellTexts.Count} cell texts for {Rows} × {Cols} cells");
    }

    /// <summary>Layer numbers 0..n−1 as labels.</summary>
    public static IReadOnlyList<string> Numbers(int n) => [.. Enumerable.Range(0, n).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public CaptureAnalysis ToAnalysis()
    {
        Validate();
        var info = (JsonObject)Info.DeepClone();
        info["metric"] = Metric;
        info["row_axis"] = RowAxis;
        info["column_axis"] = ColumnAxis;
        info["row_labels"] = new JsonArray([.. RowLabels.Select(x => (JsonNode)x)]);
        info["column_labels"] = new JsonArray([.. ColumnLabels.Select(x => (JsonNode)x)]);
        if (CellTexts is not null) info["cell_texts"] = new JsonArray([.. CellTexts.Select(x => (JsonNode)x)]);
        info["signed"] = Signed;
        if (ColorMax is { } cm) info["color_max"] = cm;
        return new CaptureAnalysis(Prefix + Kind, Values, info);
    }

    /// <summary>Every circuit map kept in a capture, by kind.</summary>
    public static IReadOnlyList<CircuitMap> All(AttentionCapture capture) =>
        [.. capture.Analyses.Values.Where(IsMap).Select(From)];

    /// <summary>Whether an analysis is a circuit map (name under <see cref="Prefix"/>, two dimensions, a metric); companions such as the logit lens's top tokens are not.</summary>
    public static bool IsMap(CaptureAnalysis a) =>
        a.Name.StartsWith(Prefix, StringComparison.Ordinal) && a.Tensor.Rank == 2 && a.Info["metric"] is not null;

    /// <summary>The circuit map of that kind in a capture, or null.</summary>
    public static CircuitMap? From(AttentionCapture capture, string kind) =>
        capture.Analysis(Prefix + kind) is { } a ? From(a) : null;

    /// <summary>Reads a map back from its analysis; malformed info is one clear line.</summary>
    public static CircuitMap From(CaptureAnalysis a)
    {
        if (!a.Name.StartsWith(Prefix, StringComparison.Ordinal)) throw new AttnScopeException($"analysis '{a.Name}' is not a circuit map");
        ResultChecks.Rank(a, 2);
        var info = (JsonObject)a.Info.DeepClone();
        var cells = info["cell_texts"] is null ? null : ResultChecks.Strings(info["cell_texts"], a.Name, "cell_texts");
        bool signed = info["signed"] is JsonValue v && v.TryGetValue(out bool b) && b;
        var map = new CircuitMap
        {
            Kind = a.Name[Prefix.Length..],
            Metric = ResultChecks.String(a, "metric", a.Name),
            Values = a.Tensor,
            RowAxis = ResultChecks.String(a, "row_axis", "layer"),
            ColumnAxis = ResultChecks.String(a, "column_axis", "head"),
            RowLabels = info["row_labels"] is null ? Numbers(a.Tensor.Shape[0]) : ResultChecks.Strings(info["row_labels"], a.Name, "row_labels"),
            ColumnLabels = info["column_labels"] is null ? Numbers(a.Tensor.Shape[1]) : ResultChecks.Strings(info["column_labels"], a.Name, "column_labels"),
            CellTexts = cells,
            Signed = signed,
            ColorMax = info["color_max"] is null ? null : (float)ResultChecks.Number(a, "color_max", 1),
        };
        if (map.ColorMax is { } top && !(top > 0)) throw new AttnScopeException($"analysis '{a.Name}': info 'color_max' must be positive");
        foreach (var key in new[] { "metric", "row_axis", "column_axis", "row_labels", "column_labels", "cell_texts", "signed", "color_max" }) info.Remove(key);
        map = map with { Info = info };
        try { map.Validate(); }
        catch (AttnScopeException e) { throw new AttnScopeException($"analysis '{a.Name}': {e.Message}"); }
        return map;
    }
}
