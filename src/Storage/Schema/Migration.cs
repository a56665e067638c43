namespace Tao.Storage.Schema;

/// <summary>One schema step: a version and the idempotent statements that take the schema there.</summary>
internal sealed record Migration(uint Version, string Description, IReadOnlyList<string> Statements);
