using System.Globalization;
using System.Text.RegularExpressions;

namespace Tao.Trainer.Scoring;

/// <summary>
/// Verification by substitution: the question states an equation in x ("find x if 25 = 7 + 3x"); a candidate's answer
/// is the last number it writes, and it scores 1 when putting that number in for x makes both sides equal. Checking
/// needs no solution and no label, only the equation the user asked about.
/// </summary>
internal sealed partial class EquationScorer : IVerifier
{
    public string Name => "equation";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var equation = Find(PromptQuestion.Of(group.Prompt));
        return Task.FromResult(group.Candidates.Select(c => equation is not null && Answer(c) is { } x && Holds(equation.Value, x) ? 1.0 : 0.0).ToArray());
    }

    /// <summary>The equation in a question: the run of arithmetic text that contains "=" and x.</summary>
    public static (string Left, string Right)? Find(string question)
    {
        foreach (Match match in EquationText().Matches(question))
        {
            var text = match.Value.Trim();
            var sides = text.Split('=');
            if (sides.Length == 2 && text.Contains('x') && sides.All(s => s.Trim().Length > 0))
            {
                return (sides[0], sides[1]);
            }
        }

        return null;
    }

    /// <summary>The candidate's answer: the last number it writes (worked steps come before it).</summary>
    public static decimal? Answer(string candidate)
    {
        var numbers = Number().Matches(candidate);
        return numbers.Count > 0 && decimal.TryParse(numbers[^1].Value, NumberStyles.Number, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    public static bool Holds((string Left, string Right) equation, decimal x) =>
        Expression.TryEvaluate(equation.Left, x, out var left) && Expression.TryEvaluate(equation.Right, x, out var right) && left == right;

    [GeneratedRegex(@"[0-9x+\-*/().=\s]+")]
    private static partial Regex EquationText();

    [GeneratedRegex(@"-?\d+(?:\.\d+)?")]
    private static partial Regex Number();

    /// <summary>+, -, *, /, parentheses, and implicit products ("3x", "2(x + 1)"), in exact decimal arithmetic.</summary>
    private sealed class Expression(string text, decimal x)
    {
        private int _at;

        public static bool TryEvaluate(string text, decimal x, out decimal value)
        {
            var parser = new Expression(text.Replace(" ", string.Empty, StringComparison.Ordinal), x);
            try
            {
                value = parser.Sum();
                return parser._at == parser.Text.Length;
            }
            catch (Exception e) when (e is FormatException or DivideByZeroException or OverflowException)
            {
                value = 0;
                return false;
            }
        }

        private string Text { get; } = text;

        private decimal Sum()
        {
            var value = Product();
            while (_at < Text.Length && Text[_at] is '+' or '-')
            {
                var op = Text[_at++];
                var right = Product();
                value = op == '+' ? value + right : value - right;
            }

            return value;
        }

        private decimal Product()
        {
            var value = Factor();
            while (_at < Text.Length && (Text[_at] is '*' or '/' or 'x' or '(' || char.IsDigit(Text[_at])))
            {
                var op = Text[_at] is '*' or '/' ? Text[_at++] : '*'; // "3x", "2(x + 1)": implicit product
                var right = Factor();
                value = op == '*' ? value * right : value / right;
            }

            return value;
        }

        private decimal Factor()
        {
            if (_at >= Text.Length)
            {
                throw new FormatException("expression ends early");
            }

            switch (Text[_at])
            {
                case '-':
                    _at++;
                    return -Factor();
                case 'x':
                    _at++;
                    return x;
                case '(':
                    _at++;
                    var inner = Sum();
                    if (_at >= Text.Length || Text[_at] != ')')
                    {
                        throw new FormatException("unbalanced parenthesis");
                    }

                    _at++;
                    return inner;
            }

            var start = _at;
            while (_at < Text.Length && (char.IsDigit(Text[_at]) || Text[_at] == '.'))
            {
                _at++;
            }

            return start == _at ? throw new FormatException("number expected") : decimal.Parse(Text[start.._at], CultureInfo.InvariantCulture);
        }
    }
}
