using Tao.Storage;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tasks;

namespace Tao.Trainer.Tests.Scoring;

public sealed class ScorerTests
{
    private static ScoringGroup Group(string prompt, params string[] candidates) => new(prompt, candidates);

    [Fact]
    public async Task Regex_ScoresMatchesOrNonMatches()
    {
        Assert.Equal(new double[] { 1.0, 0.0 }, await new RegexScorer("^SELECT ").ScoreAsync(Group("q", "SELECT 1", "DROP x"), default));
        Assert.Equal(new double[] { 0.0, 1.0 }, await new RegexScorer("DROP", mustMatch: false).ScoreAsync(Group("q", "DROP x", "SELECT 1"), default));
    }

    [Fact]
    public async Task JsonSchema_AcceptsOnlyValidDocuments()
    {
        var scorer = new JsonSchemaScorer("""{"type":"object","required":["name","age"],"properties":{"age":{"type":"integer"}}}""");

        var scores = await scorer.ScoreAsync(Group("q", """{"name":"a","age":3}""", """{"name":"a","age":"3"}""", "not json", """{"name":"a"}"""), default);

        Assert.Equal(new double[] { 1.0, 0.0, 0.0, 0.0 }, scores);
    }

    [Fact]
    public async Task Substring_RequiresTheAnswerVerbatimInTheDocument()
    {
        var group = new ScoringGroup("q", ["INV-123", "INV-999", " INV-123 ", ""], new Dictionary<string, string> { ["document"] = "invoice INV-123 from acme" });

        Assert.Equal(new double[] { 1.0, 0.0, 1.0, 0.0 }, await new SubstringScorer().ScoreAsync(group, default));
    }

    [Fact]
    public async Task Substring_RejectsAPieceOfAWordOrNumber_AndFindsALaterWholeOccurrence()
    {
        var document = "424.50 EUR owed to Oakwood Ltd: invoice INV-4695, dated 2025-03-14, order PO-1727. Oak Ltd also signed";
        var group = new ScoringGroup("q",
            ["PO-17", "INV-469", "695", "PO-1727", "PO-1727.", "424.50 EUR", "Oak", "Oakwood Ltd", "24.50 EUR", "wood Ltd", "signed", "signe", "424.50 EUR owed"],
            new Dictionary<string, string> { ["document"] = document });

        Assert.Equal(new double[] { 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1 }, await new SubstringScorer().ScoreAsync(group, default));
    }

    [Fact]
    public async Task MajorityVote_ScoresTheShareThatAgrees_AfterNormalising()
    {
        var scores = await new MajorityVoteScorer(@"(?i)answer:\s*(\d+)").ScoreAsync(
            Group("q", "so answer: 42", "Answer: 42.", "answer: 41", "no idea"), default);

        Assert.Equal(new double[] { 0.5, 0.5, 0.25, 0.0 }, scores);
        Assert.Equal(new double[] { 0.5, 0.5, 0.25, 0.25 }, await new MajorityVoteScorer().ScoreAsync(Group("q", "Paris", " paris.", "Rome", "Berlin"), default));
    }

    [Fact]
    public async Task FieldFormat_AppliesTheRuleOfTheQuestionAsked_NotOfWordsInTheDocument()
    {
        // Real traffic prompts, as the flywheel and the benchmark send them: system, then the document and the question.
        var prompts = new DocumentQaTaskFamily().Generate(7, 0, 1, 0, 3).Tuning;
        var byQuestion = prompts.ToDictionary(e => PromptQuestion.Of(e.Prompt.Text));
        var company = byQuestion["who is the invoice from?"];
        var date = byQuestion["what is the invoice date?"];
        Assert.Contains("dated", company.Prompt.Text); // every invoice says "dated": not a question about a date
        var scorer = new FieldFormatScorer([("invoice number", @"^INV-\d+$"), ("when|date", @"^\d{4}-\d{2}-\d{2}$"), ("company|who", @"^[A-Z][a-z]+ (Ltd|GmbH|SA|Inc|BV)$")]);

        Assert.Equal(new double[] { 1.0, 0.0 }, await scorer.ScoreAsync(new ScoringGroup(company.Prompt.Text, [company.Gold, date.Gold]), default));
        Assert.Equal(new double[] { 0.0, 1.0 }, await scorer.ScoreAsync(new ScoringGroup(date.Prompt.Text, [company.Gold, date.Gold]), default));
        Assert.Equal(new double[] { 1.0 }, await scorer.ScoreAsync(Group("system line\nwhat is the weather like?", "anyone"), default));
    }

    [Fact]
    public async Task SqlAskedFor_AcceptsEveryGoldQuery_AndRejectsAnotherAggregate()
    {
        var scorer = new FieldFormatScorer(SqlTaskFamily.AskedFor);
        // Every gold query passes; the gold query with another head (count for a total, a name for a city) fails.
        string[] heads = ["SELECT count() ", "SELECT sum(amount) ", "SELECT avg(amount) ", "SELECT max(amount) ", "SELECT city ", "SELECT name "];
        var pinned = 0;
        foreach (var (baseWording, traffic, sql) in SqlTaskFamily.Questions())
        {
            var head = heads.Single(h => sql.StartsWith(h, StringComparison.Ordinal));
            var others = heads.Where(h => h != head).Select(h => h + sql[head.Length..]);
            foreach (var question in new[] { baseWording, traffic })
            {
                var prompt = $"{SqlTaskFamily.System}\n{question}"; // system, then the question, as the traffic sends them
                var scores = await scorer.ScoreAsync(new ScoringGroup(prompt, [sql, .. others]), default);
                Assert.True(scores[0] == 1.0, $"{question} rejects its gold {sql}");
                Assert.True(scores.Skip(1).All(s => s == 0), $"{question} accepts another aggregate than {head}");
                pinned++;
            }
        }

        Assert.True(pinned > 40, "the family asks fewer questions than expected");
    }

    [Fact]
    public async Task DocumentScorer_GivesEveryTrafficQuestionOneAcceptableField()
    {
        var family = new DocumentQaTaskFamily();
        var document = family.Generate(7, 0, 1, 0, 5).Tuning;
        var fields = document.Select(e => e.Gold).ToList();
        foreach (var example in document)
        {
            var scores = await family.Scorer().ScoreAsync(new ScoringGroup(example.Prompt.Text, fields, example.Prompt.Context), default);

            // Grounding and the question's shape leave exactly one of the document's fields: the right one.
            Assert.Equal(fields.Select(f => f == example.Gold), scores.Select(s => s > 0));
        }
    }

    [Fact]
    public async Task Composite_RequiredPartsGate_AgreementOnlyRanksWhatPassed()
    {
        var scorer = new CompositeScorer(
        [
            new CompositeScorer.Part(new SubstringScorer(), 0.5, Required: true),
            new CompositeScorer.Part(new MajorityVoteScorer(), 0.5),
        ]);
        var group = new ScoringGroup("q", ["INV-1", "INV-9", "INV-9", "INV-9"], new Dictionary<string, string> { ["document"] = "invoice INV-1" });

        var scores = await scorer.ScoreAsync(group, default);

        // The answer three samples agree on is not in the document: it scores 0, the lone grounded one wins.
        Assert.Equal([0.5 + 0.5 * 0.25, 0, 0, 0], scores);
    }

    [Fact]
    public async Task SqlGrounding_RequiresLiteralsFromTheQuestion()
    {
        var scores = await new SqlGroundingScorer().ScoreAsync(Group("sql\nwhere does mia novak live?",
            "SELECT city FROM customers WHERE name = 'mia novak'",
            "SELECT city FROM customers WHERE name = 'mia kowal'",
            "SELECT count() FROM orders WHERE amount > 30 AND name = 'mia novak'",
            "SELECT count() FROM orders",
            "SELECT city FROM customers WHERE name = 'mia nov'"), default);

        Assert.Equal(new double[] { 1.0, 0.0, 0.5, 1.0, 0.0 }, scores);
    }

    [Fact]
    public async Task Composite_IsTheWeightedAverage()
    {
        var scorer = new CompositeScorer([(new RegexScorer("a"), 3), (new RegexScorer("b"), 1)]);

        Assert.Equal(new double[] { 1.0, 0.75, 0.25, 0.0 }, await scorer.ScoreAsync(Group("q", "ab", "a", "b", "c"), default));
    }

    [Fact]
    public async Task Command_RunsUserCodeWithTheGroupAsJson()
    {
        var script = Path.Combine(TinyModels.Folder("command"), "score.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\nread input\ncase \"$input\" in *'\"good\"'*) echo '{\"scores\": [1, 0]}' ;; *) echo '{\"scores\": [0, 0]}' ;; esac\n");

        Assert.Equal(new double[] { 1.0, 0.0 }, await new CommandScorer("/bin/sh", [script]).ScoreAsync(Group("q", "good", "bad"), default));
        // A command that exits without reading its input (broken pipe on our side) scores 0, every time.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(new double[] { 0.0, 0.0 }, await new CommandScorer("/bin/false", []).ScoreAsync(Group("q", "good", "bad"), default));
        }
    }

    [Fact]
    public void Factory_BuildsAWeightedCompositeFromConfiguration()
    {
        var scorer = ScorerFactory.FromJson("""
            {"scorers": [
              {"type": "regex", "pattern": "^SELECT", "weight": 0.2},
              {"type": "majority", "weight": 0.5},
              {"type": "json_schema", "schema": {"type": "object"}, "weight": 1}
            ]}
            """, new ScorerFactory.Services());

        var composite = Assert.IsType<CompositeScorer>(scorer);
        Assert.Equal(["regex(^SELECT)", "majority", "json_schema"], composite.Parts.Select(p => p.Scorer.Name));
        Assert.Throws<ArgumentException>(() => ScorerFactory.FromJson("""[{"type": "magic"}]""", new ScorerFactory.Services()));
    }
}

/// <summary>The SQL verifier against the embedded ClickHouse engine.</summary>
public sealed class SqlExecutionScorerTests : IAsyncLifetime
{
    private ClickHouseStore _store = null!;
    private string _database = null!;

    public async Task InitializeAsync()
    {
        _database = TestEngine.NewDatabase("sqlv");
        _store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = _database });
        await _store.Client.ExecuteNonQueryAsync($"CREATE DATABASE {_database}");
        await _store.Client.ExecuteNonQueryAsync($"CREATE TABLE {_database}.t (id UInt32, city String) ENGINE = MergeTree ORDER BY id");
        await _store.Client.ExecuteNonQueryAsync($"INSERT INTO {_database}.t VALUES (1, 'rome'), (2, 'oslo'), (3, 'rome')");
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task RightWrongAndUnrunnableQueries_ScoreByRunningAndByAgreement()
    {
        var scorer = new SqlExecutionScorer(_store, runWeight: 0.3, agreementWeight: 0.7);
        var group = new ScoringGroup("how many customers in rome?",
        [
            "SELECT count() FROM t WHERE city = 'rome'",
            "SELECT count(*) FROM t WHERE city = 'rome';",
            "SELECT count() FROM t WHERE city = 'oslo'",
            "SELEC nothing",
            "SELECT count() FROM t WHERE city = 'paris'",
        ], new Dictionary<string, string> { [SqlExecutionScorer.DatabaseKey] = _database });

        var scores = await scorer.ScoreAsync(group, default);

        Assert.Equal(0.3 + 0.7 * 2 / 5, scores[0], 6);   // runs, and agrees with the second
        Assert.Equal(scores[0], scores[1], 6);           // a different text with the same result
        Assert.Equal(0.3 + 0.7 * 1 / 5, scores[2], 6);   // runs, alone
        Assert.Equal(0.0, scores[3]);                    // does not run
        Assert.Equal(0.15, scores[4], 6);                // runs, finds nothing: no agreement credit
    }

    [Fact]
    public async Task Writes_AndSeveralStatements_AreRefused()
    {
        var scorer = new SqlExecutionScorer(_store);

        Assert.Null(await scorer.RunAsync(_database, "INSERT INTO t VALUES (9, 'x')", default));
        Assert.Null(await scorer.RunAsync(_database, "SELECT 1; SELECT 2", default));
        Assert.Equal("3", await scorer.RunAsync(_database, "SELECT count() FROM t", default));
        Assert.Equal("1\trome\n3\trome", await scorer.RunAsync(_database, "SELECT * FROM t WHERE city = 'rome' ORDER BY id DESC", default));
    }
}
