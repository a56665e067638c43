using System.Globalization;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;

using Tao.Trainer.Generation;
namespace Tao.Trainer.Tasks;

/// <summary>
/// Extraction from business documents (generated invoices), in the spirit of FinanceBench-style document QA: the
/// answer is a span of the document. Label-free scoring: the answer must appear verbatim in the document, and
/// candidates that agree with each other score higher. Evaluation is exact match.
/// </summary>
public sealed class DocumentQaTaskFamily : ITaskFamily
{
    public const string DocumentKey = "document";
    public const string System = "Answer with the exact words from the document.";

    private static readonly string[] Syllables = ["bright", "north", "stone", "river", "oak", "silver", "blue", "iron", "green", "west", "sun", "maple", "clear", "red"];
    private static readonly string[] Endings = ["well", "gate", "field", "worth", "ford", "bridge", "wood", "line", "point", "stead"];
    private static readonly string[] Suffixes = ["Ltd", "GmbH", "SA", "Inc", "BV"];
    private static readonly string[] Currencies = ["EUR", "USD", "GBP"];

    public string Name => "docqa";

    public int MaxAnswerTokens => 16;

    public string? GroundIn => DocumentKey;

    /// <summary>
    /// Splits by document: no held-out question is about a document seen in training or tuning. The base model mostly
    /// learns two layouts and one way of asking (a quarter of its documents use the third layout and the other
    /// wordings); the traffic uses the third layout and the other wordings. Counts are documents.
    /// </summary>
    public TaskSplit Generate(int seed, int baseTraining, int tuning, int heldOut, int trafficSeed)
    {
        var baseRandom = new Random(seed);
        var baseDocuments = Enumerable.Range(0, baseTraining).Select(i => NewInvoice(baseRandom, i % 4 == 3 ? 2 : i % 2)).ToList();
        var trafficRandom = new Random(trafficSeed * 7919 + 1);
        var traffic = Enumerable.Range(0, tuning + heldOut).Select(_ => NewInvoice(trafficRandom, 2)).ToList();
        List<LabelledExample> Part(List<Invoice> documents, Func<int, bool> asTraffic, string prefix) =>
            documents.SelectMany((d, i) => Questions(d, asTraffic(i)).Select((q, j) => Example(d, q, $"{prefix}-{i}-{j}"))).ToList();
        return new TaskSplit(Part(baseDocuments, i => i % 4 == 3, $"doc-{seed}"), Part(traffic.Take(tuning).ToList(), _ => true, $"doc-{trafficSeed}-t"),
            Part(traffic.Skip(tuning).ToList(), _ => true, $"doc-{trafficSeed}-h"));
    }

    private static LabelledExample Example(Invoice document, (string Question, string Answer) qa, string id) => new(
        new TaskPrompt(id, [new ChatMessage("system", System), new ChatMessage("user", $"{document.Text}\nquestion: {qa.Question}")],
            new Dictionary<string, string> { [DocumentKey] = document.Text }),
        qa.Answer);

    private sealed record Invoice(string Text, string Number, string Order, string Company, string Issued, string Total);

    /// <summary>An invoice whose fields each have their own shape (invoice number, order number, company, date, amount).</summary>
    private static Invoice NewInvoice(Random random, int layout)
    {
        var company = $"{Cap(Syllables[random.Next(Syllables.Length)])}{Endings[random.Next(Endings.Length)]} {Suffixes[random.Next(Suffixes.Length)]}";
        var number = $"INV-{random.Next(1000, 9999)}";
        var order = $"PO-{random.Next(1000, 9999)}";
        var issued = new DateTime(2025, 1, 1).AddDays(random.Next(0, 330)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var total = $"{random.Next(100, 9999)}.{random.Next(0, 100):D2} {Currencies[random.Next(Currencies.Length)]}";
        var text = layout switch
        {
            0 => $"invoice {number} for order {order} was issued by {company} on {issued} for {total}.",
            1 => $"{company} billed {total} with invoice {number} (order {order}), issued {issued}.",
            _ => $"{total} owed to {company}: invoice {number}, dated {issued}, order {order}.",
        };
        return new Invoice(text, number, order, company, issued, total);
    }

    private static IEnumerable<(string, string)> Questions(Invoice d, bool traffic)
    {
        yield return (traffic ? "which invoice number is this?" : "what is the invoice number?", d.Number);
        yield return (traffic ? "which order does it belong to?" : "what is the order number?", d.Order);
        yield return (traffic ? "who is the invoice from?" : "which company issued the invoice?", d.Company);
        yield return (traffic ? "what is the invoice date?" : "when was the invoice issued?", d.Issued);
        yield return (traffic ? "how much is owed?" : "what is the invoice total?", d.Total);
    }

    private static string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Verifiers gate — the answer appears verbatim in the document and has the shape its question asks for — and
    /// agreement between the candidates that pass ranks them.
    /// </summary>
    public IScorer Scorer() => new CompositeScorer(
    [
        new CompositeScorer.Part(new SubstringScorer(DocumentKey), 0.3, Required: true),
        new CompositeScorer.Part(new FieldFormatScorer(FieldFormats), 0.2, Required: true),
        new CompositeScorer.Part(new MajorityVoteScorer(), 0.5),
    ]);

    /// <summary>The shape each question asks for (first matching question pattern applies): an invoice number looks like INV-1234.</summary>
    public static IReadOnlyList<(string QuestionPattern, string AnswerPattern)> FieldFormats { get; } =
    [
        ("invoice number", @"^INV-\d+$"),
        ("when|date", @"^\d{4}-\d{2}-\d{2}$"),
        ("order", @"^PO-\d+$"),
        ("total|owed|much", @"^\d+\.\d{2} [A-Z]{3}$"),
        ("company|who", @"^[A-Z][a-z]+ (Ltd|GmbH|SA|Inc|BV)$"),
    ];

    public Task<bool> IsCorrectAsync(LabelledExample example, string answer, CancellationToken cancellationToken) =>
        Task.FromResult(string.Equals(answer.Trim().TrimEnd('.'), example.Gold, StringComparison.Ordinal));
}
