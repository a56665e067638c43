namespace Tao.Flywheel;

/// <summary>
/// What became of a registry version (<see cref="Tao.Trainer.Registry.ModelVersion.Status"/>, the model_versions table,
/// the dashboard). Strings on the wire — the registry's JSON and the store keep them as written — named only here.
/// </summary>
public static class VersionStatus
{
    /// <summary>The group's starting model, registered before any round.</summary>
    public const string Base = "base";

    /// <summary>A round's result, registered and not yet decided.</summary>
    public const string Candidate = "candidate";

    /// <summary>Won the gate and serves behind the group's alias (or did, until a later version was promoted).</summary>
    public const string Promoted = "promoted";

    /// <summary>Lost the gate; never served.</summary>
    public const string Rejected = "rejected";

    /// <summary>Was promoted or in canary and was taken back: its canary did significantly worse, or an operator rolled it back.</summary>
    public const string RolledBack = "rolled_back";

    /// <summary>A version the alias may serve: the base, or one a round promoted. Rollback returns to the newest such ancestor.</summary>
    public static bool CanServe(string status) => status is Base or Promoted;
}
