namespace Tao.Capture.Export;

/// <summary>
/// Which captured calls an export takes. Only answered chat calls (status &lt; 400, a non-empty answer, not cut off)
/// are training data; within those, the filters below narrow the set, and one call per prompt is kept.
/// </summary>
public sealed record ExportRequest
{
    public ExportFormat Format { get; init; } = ExportFormat.OpenAiChat;
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public string? Task { get; init; }
    public string? Model { get; init; }
    public string? Version { get; init; }
    public string? Key { get; init; }

    /// <summary>A feedback metric: with <see cref="MinValue"/>, only calls rated at least that; for preferences, the metric that ranks answers.</summary>
    public string? Metric { get; init; }

    public double? MinValue { get; init; }

    /// <summary>Also export prompts the flywheel holds out for evaluation (off by default: exporting them leaks the test set).</summary>
    public bool IncludeHeldOut { get; init; }

    /// <summary>Use a call's demonstration (an edited ideal answer from feedback) as its answer when there is one. Default: true.</summary>
    public bool PreferDemonstrations { get; init; } = true;

    /// <summary>At most this many lines. Default: no limit.</summary>
    public int? Limit { get; init; }

    /// <summary>The filters as name → value, for the manifest and headers.</summary>
    public IReadOnlyDictionary<string, string> Describe()
    {
        var filters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Add(string name, object? value)
        {
            if (value is not null)
            {
                filters[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
            }
        }

        Add("from", From?.UtcDateTime.ToString("O"));
        Add("to", To?.UtcDateTime.ToString("O"));
        Add("task", Task);
        Add("model", Model);
        Add("version", Version);
        Add("key", Key);
        Add("metric", Metric);
        Add("min_value", MinValue);
        Add("include_held_out", IncludeHeldOut);
        Add("prefer_demonstrations", PreferDemonstrations);
        Add("limit", Limit);
        return filters;
    }
}
