namespace Tao.Gateway.Tests;

/// <summary>
/// A gateway over a store seeded with 1000 known captures (and a flywheel round), so every analytics figure has an
/// answer computed by hand: 250 calls to gpt-big, 750 to small behind the alias support-bot, one in ten failed.
/// </summary>
public class AnalyticsFixture() : GatewayFixture(new Dictionary<string, string?>
{
    ["Tao:Analytics:Prices:gpt-big:Prompt"] = "10",
    ["Tao:Analytics:Prices:gpt-big:Completion"] = "30",
    ["Tao:Analytics:Prices:support-bot:Prompt"] = "1",
    ["Tao:Analytics:Prices:support-bot:Completion"] = "2",
})
{
    public const string SearchedPrompt = "How do I reset my PASSWORD?";
    public static readonly Guid KnownRequest = Guid.Parse("00000000-0000-4000-8000-000000000007");

    public DateTime Start { get; private set; }

    /// <summary>The hour of the calls on every API surface, three days before <see cref="Start"/>.</summary>
    public DateTime SurfacesDay => Start.AddDays(-3);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var start = DateTime.UtcNow.AddHours(-10);
        Start = new DateTime(start.Year, start.Month, start.Day, start.Hour, 0, 0, DateTimeKind.Utc);
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.captures (request_id, schema_version, started_at, completed_at, latency_ms, ttft_ms, endpoint, status,
                model, alias, model_version, task, api_key_id, end_user, prompt, prompt_hash, response_text, prompt_tokens, completion_tokens)
            SELECT
                if(number = 7, toUUID('{KnownRequest}'), generateUUIDv4(number)),
                1,
                toDateTime64('{Start:yyyy-MM-dd HH:mm:ss}', 6, 'UTC') + toIntervalHour(number % 10) + toIntervalSecond(number % 60),
                toDateTime64('{Start:yyyy-MM-dd HH:mm:ss}', 6, 'UTC') + toIntervalHour(number % 10) + toIntervalSecond(number % 60 + 1),
                (number % 100) + 1,
                if(number % 3 = 0, NULL, 5.0),
                'chat',
                if(number % 10 = 0, 500, 200),
                if(number % 4 = 0, 'gpt-big', 'small'),
                if(number % 4 = 0, '', 'support-bot'),
                if(number % 4 = 0, 'v-big', 'r1'),
                if(number % 2 = 1, 'sql', 'support'),
                concat('key_', toString(number % 3)),
                concat('user-', toString(number % 7)),
                if(number % 5 = 0, '{SearchedPrompt}', concat('prompt number ', toString(number))),
                if(number % 5 = 0, 42, 1000 + number),
                concat('answer ', toString(number)),
                100,
                10
            FROM numbers(1000)
            """);
        // Three days earlier, outside the 24 h figures: 40 calls on every surface, chat written by schema 1 and 2 records.
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.captures (request_id, schema_version, started_at, completed_at, latency_ms, endpoint, status, model, task, prompt_tokens, completion_tokens)
            SELECT generateUUIDv4(number), if(number % 4 = 0, 1, 2),
                toDateTime64('{SurfacesDay:yyyy-MM-dd HH:mm:ss}', 6, 'UTC') + toIntervalSecond(number),
                toDateTime64('{SurfacesDay:yyyy-MM-dd HH:mm:ss}', 6, 'UTC') + toIntervalSecond(number + 1),
                10, ['chat.completions', 'chat', 'responses', 'messages'][number % 4 + 1], 200, 'small', 'support', 10, 1
            FROM numbers(40)
            """);
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.flywheel_rounds (round_id, model_group, tasks, status, started_at, updated_at, inputs, parent_version,
                candidate_version, reward_first, reward_last, decision, reason, duration_s)
            VALUES ('round-a', 'shop', ['support'], 'done', now64(3), now64(3), 2, 'base', 'r1', 0.4, 0.7, 'promoted', 'won by 0.05', 61.5)
            """);
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.round_inputs (round_id, request_id, prompt_hash, task, role)
            VALUES ('round-a', toUUID('{KnownRequest}'), 1007, 'sql', 'tuning'), ('round-a', generateUUIDv4(), 1, 'support', 'held_out')
            """);
        await Store.Client.ExecuteNonQueryAsync($$"""
            INSERT INTO {{Database}}.model_versions (version, model_group, parent, created_at, updated_at, status, round_id, evaluation, decision)
            VALUES ('base', 'shop', '', now64(3) - 100, now64(3), 'base', '', '', 'initial version'),
                   ('r1', 'shop', 'base', now64(3), now64(3), 'promoted', 'round-a', '{"support":0.7}', 'won by 0.05')
            """);
    }
}
