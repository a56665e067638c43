using Tao.Trainer.Scoring;
using Tao.Trainer.Tasks;

namespace Tao.Trainer.Tests.Scoring;

/// <summary>Verifiers that check an answer by substituting it back, on prompts as the traffic sends them.</summary>
public sealed class VerifierTests
{
    [Fact]
    public async Task UnitConversion_AcceptsExactlyTheRightQuantity_InTheAskedUnit()
    {
        var family = new UnitConversionTaskFamily();
        var example = family.Generate(7, 0, 40, 0, 1).Tuning.First(e => e.Prompt.Text.Contains(" km"));
        var question = UnitConversionScorer.Parse(PromptQuestion.Of(example.Prompt.Text))!.Value;
        var value = question.Value * question.From.Size / question.To.Size;
        string[] candidates = [example.Gold, $"{value} {question.From.Symbol}", $"{value * 10} {question.To.Symbol}", $"{question.Value} {question.From.Symbol}", "about a lot", $"{value} {question.To.Names[1]}"];

        var scores = await family.Scorer().ScoreAsync(new Tao.Trainer.Scoring.ScoringGroup(example.Prompt.Text, candidates), default);

        Assert.Equal([1.0, 0, 0, 0, 0, 1.0], scores); // the unit's name is as good as its symbol; the question's own quantity is not an answer
    }

    [Fact]
    public async Task UnitConversion_VerifierAgreesWithTheGoldAnswer_OnEveryTrafficWording()
    {
        var family = new UnitConversionTaskFamily();
        var split = family.Generate(7, 200, 300, 300, 2);
        foreach (var example in split.Tuning.Concat(split.HeldOut))
        {
            var scores = await family.Scorer().ScoreAsync(new Tao.Trainer.Scoring.ScoringGroup(example.Prompt.Text, [example.Gold, "0 m"]), default);
            Assert.Equal([1.0, 0.0], scores);
            Assert.True(await family.IsCorrectAsync(example, example.Gold, default));
        }
    }

    [Fact]
    public async Task Equation_ChecksTheLastNumberBySubstitution()
    {
        var scorer = new EquationScorer();
        var group = new Tao.Trainer.Scoring.ScoringGroup("Solve for x.\nwhat x satisfies 27 = 3(x + 2)?",
            ["x + 2 = 27 / 3 = 9, x = 9 - 2 = 7", "x = 9", "7", "x + 2 = 9, so x = 11", "no idea"]);

        Assert.Equal(new double[] { 1.0, 0, 1.0, 0, 0 }, await scorer.ScoreAsync(group, default));
        Assert.Equal(new double[] { 1.0 }, await scorer.ScoreAsync(new Tao.Trainer.Scoring.ScoringGroup("find x if 25 = 7 + 3x", ["x = 6"]), default));
        Assert.Equal(new double[] { 0.0 }, await scorer.ScoreAsync(new Tao.Trainer.Scoring.ScoringGroup("no equation here", ["6"]), default));
    }
}
