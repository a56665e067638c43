namespace Tao.Storage.Schema;

/// <summary>
/// Creates and migrates Tao's tables at start. Each migration runs once, in order, and is recorded in
/// schema_migrations; statements are idempotent so a migration interrupted midway is safe to rerun.
/// </summary>
public sealed class SchemaMigrator(ClickHouseStore store)
{
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        var ddl = new SchemaDdl(store.Options);
        var client = store.Client;
        await client.ExecuteNonQueryAsync(ddl.CreateDatabase(), cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var statement in ddl.CreateTable(SchemaDdl.MigrationsTable, [new("version", "UInt32"), new("applied_at", "DateTime", "DEFAULT now()")],
                     "ReplacingMergeTree", "version", partitionBy: null))
        {
            await client.ExecuteNonQueryAsync(statement, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var applied = new HashSet<uint>();
        using (var reader = await client.ExecuteReaderAsync($"SELECT version FROM {ddl.Qualified(SchemaDdl.MigrationsTable)}", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            while (reader.Read())
            {
                applied.Add(Convert.ToUInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        foreach (var migration in Migrations.All(ddl))
        {
            if (applied.Contains(migration.Version))
            {
                continue;
            }

            foreach (var statement in migration.Statements)
            {
                await client.ExecuteNonQueryAsync(statement, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            await client.ExecuteNonQueryAsync(
                $"INSERT INTO {ddl.Qualified(SchemaDdl.MigrationsTable)} (version) VALUES ({migration.Version})",
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }
}
