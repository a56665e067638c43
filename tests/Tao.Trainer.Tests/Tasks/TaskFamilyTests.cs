using Tao.Storage;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tasks;

namespace Tao.Trainer.Tests.Tasks;

/// <summary>The benchmark's and the demo's task families: honest splits, and shop data where every question has an answer.</summary>
public sealed class TaskFamilyTests : IAsyncLifetime
{
    private ClickHouseStore _store = null!;
    private SqlTaskFamily _sql = null!;

    public async Task InitializeAsync()
    {
        var database = TestEngine.NewDatabase("shop");
        _store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = database });
        _sql = new SqlTaskFamily(_store, database);
        await _sql.PrepareAsync(default);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public void Splits_ShareNoItem_KeepTheBaseFixed_AndHoldFourHundredOut()
    {
        foreach (var family in TaskFamilies.All(_store))
        {
            var recipe = new BaseModelRecipe();
            var (tune, heldOut) = family.Name == "docqa" ? (200, 80) : (300, 400);
            var one = family.Generate(recipe.Seed, recipe.BaseCount(family), tune, heldOut, trafficSeed: 1);
            var two = family.Generate(recipe.Seed, recipe.BaseCount(family), tune, heldOut, trafficSeed: 2);

            Assert.True(one.HeldOut.Count >= 400, $"{family.Name}: {one.HeldOut.Count} held-out items");
            Assert.Equal(one.BaseTraining.Select(e => e.Prompt.Text), two.BaseTraining.Select(e => e.Prompt.Text)); // one base model whatever the traffic
            Assert.NotEqual(one.HeldOut.Select(e => e.Prompt.Text), two.HeldOut.Select(e => e.Prompt.Text));
            var seen = one.BaseTraining.Concat(one.Tuning).Select(e => Key(family, e)).ToHashSet();
            Assert.DoesNotContain(one.HeldOut, e => seen.Contains(Key(family, e)));
            Assert.Empty(one.Tuning.Select(e => e.Prompt.Id).Intersect(one.HeldOut.Select(e => e.Prompt.Id)));
        }
    }

    /// <summary>What makes two items the same: the SQL query, the document, the quantity converted.</summary>
    private static string Key(ITaskFamily family, LabelledExample example) => family.Name switch
    {
        "sql" => example.Gold,
        "docqa" => example.Prompt.Context![DocumentQaTaskFamily.DocumentKey],
        _ => UnitConversionScorer.Parse(PromptQuestion.Of(example.Prompt.Text))!.Value.ToString(),
    };

    [Fact]
    public async Task EveryShopQuestion_HasANonEmptyAnswer()
    {
        // A query that finds nothing would count any other empty query as right; the shop's data is built so none does.
        var executor = new SqlExecutionScorer(_store);
        var questions = SqlTaskFamily.Questions().ToList();
        var empty = new List<string>();
        foreach (var (_, _, sql) in questions)
        {
            var result = await executor.RunAsync(_sql.Database, sql, default);
            if (result is null || SqlExecutionScorer.IsEmpty(result))
            {
                empty.Add(sql);
            }
        }

        Assert.True(questions.Count > 1500);
        Assert.Empty(empty);
    }

    [Fact]
    public async Task ValueCoverage_RefusesAQueryThatDropsAValueTheQuestionAsksFor()
    {
        var scorer = new SqlValueCoverageScorer(_store);
        var context = new Dictionary<string, string> { [SqlExecutionScorer.DatabaseKey] = _sql.Database };
        var group = new ScoringGroup($"{SqlTaskFamily.System}\ncount refunded orders from month 7",
        [
            "SELECT count() FROM orders WHERE status = 'refunded' AND month = 7",
            "SELECT count() FROM orders WHERE month = 7",
            "SELECT count() FROM orders WHERE status = 'paid' AND month = 7",
        ], context);

        Assert.Equal(new double[] { 1.0, 0.5, 0.5 }, await scorer.ScoreAsync(group, default));
        var names = await scorer.ScoreAsync(new ScoringGroup($"{SqlTaskFamily.System}\nwhere does leo kowal live?",
            ["SELECT city FROM customers WHERE name = 'leo kowal'", "SELECT city FROM customers WHERE name = 'leo novak'"], context), default);
        Assert.Equal([1.0, 0.0], names);
    }

    [Fact]
    public async Task SqlScorer_GatesOnRunningGroundingAndCoverage_ThenRanksByAgreement()
    {
        var family = _sql;
        var example = family.Generate(7, 450, 300, 0, 1).Tuning.First(e => e.Gold.Contains("status =", StringComparison.Ordinal) && e.Gold.Contains("month =", StringComparison.Ordinal));
        string[] candidates = [example.Gold, example.Gold, "SELECT count() FROM orders WHERE month = 1", "SELEC broken"];

        var scores = await family.Scorer().ScoreAsync(new ScoringGroup(example.Prompt.Text, candidates, example.Prompt.Context), default);

        Assert.True(scores[0] > 0 && scores[0] == scores[1]);
        Assert.Equal(0.0, scores[2]);
        Assert.Equal(0.0, scores[3]);
        Assert.True(await family.IsCorrectAsync(example, example.Gold, default));
    }
}
