namespace Tao.Gateway.State;

/// <summary>
/// A gateway API key as the gateway keeps it: never the secret, only its hash, and what the key may do.
/// </summary>
/// <param name="Task">The default task of the key's calls (the first allowed task).</param>
internal sealed record ApiKey(string Id, string Name, string Sha256, string? Task, DateTimeOffset CreatedAt)
{
    /// <summary>Tasks the key may name besides <see cref="Task"/>. A key with a task may name no other one.</summary>
    public IReadOnlyList<string> Tasks { get; init; } = [];

    /// <summary>Models and aliases the key may call; empty allows every model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Whether the key may turn capture off for a call (x-tao-capture: off) or choose its redaction.</summary>
    public bool CaptureControl { get; init; }

    /// <summary>Redact secrets in this key's captured text; null follows Tao:Capture:Redaction.</summary>
    public bool? Redact { get; init; }

    public KeyLimits Limits { get; init; } = new();

    /// <summary>
    /// True when the key may file a call under <paramref name="task"/>. A key without any task is unscoped (the
    /// development default) and may name any task; a scoped key only its own.
    /// </summary>
    public bool AllowsTask(string task) =>
        (Task is null && Tasks.Count == 0)
        || string.Equals(Task, task, StringComparison.Ordinal)
        || Tasks.Contains(task, StringComparer.Ordinal);

    /// <summary>The task of a call that names none.</summary>
    public string? DefaultTask => Task ?? (Tasks.Count > 0 ? Tasks[0] : null);

    /// <summary>True when the key may call <paramref name="requested"/> (as named, or the alias/model it resolves through).</summary>
    public bool AllowsModel(string requested, string? alias, string model) =>
        Models.Count == 0
        || Models.Contains(requested, StringComparer.Ordinal)
        || (alias is not null && Models.Contains(alias, StringComparer.Ordinal))
        || Models.Contains(model, StringComparer.Ordinal);
}
