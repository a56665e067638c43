using Tao.Trainer.Generation;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Tests.Generation;

public sealed class GroundedSamplingTests
{
    // A docqa invoice as the benchmark's traffic shows it (the third layout).
    private const string Invoice = "4620.40 GBP owed to Kestrel Ltd: invoice INV-4695, dated 2024-03-05, order PO-1727.";

    [Fact]
    public void Allowed_ContinuesOnlyWhatTheDocumentSays_AndEndsOnlyOnAWholeSpan()
    {
        var tokenizer = TinyModels.Tokenizer();
        var spans = GroundedSpans.For(Invoice, tokenizer);
        string Text(int id) => tokenizer.Decode([id]);

        // Nothing yet: only tokens that open a span at a word boundary, and no empty answer.
        var (first, canStopEmpty) = spans.Allowed("");
        Assert.False(canStopEmpty);
        Assert.NotEmpty(first);
        Assert.All(first, id => Assert.Contains(Text(id).TrimStart(), Invoice));
        Assert.DoesNotContain(first, id => Text(id).Trim() is "7" or "95"); // inside PO-1727 / INV-4695, not at a boundary

        // Exactly the tokens a scan of the whole vocabulary finds (the set is found by walking a trie from the document).
        bool Opens(string text) => text.Length > 0 && Enumerable.Range(0, Invoice.Length - text.Length + 1).Any(at =>
            string.CompareOrdinal(Invoice, at, text, 0, text.Length) == 0 && (!char.IsLetterOrDigit(text[0]) || at == 0 || !char.IsLetterOrDigit(Invoice[at - 1])));
        var scanned = Enumerable.Range(0, tokenizer.VocabularySize).Where(id => !tokenizer.IsSpecial(id) && !Text(id).Contains('\uFFFD') && Opens(Text(id).TrimStart()));
        Assert.Equal(scanned.Order(), first.Order());

        // A piece of the order number may go on only with the document's own digits, and may not end there.
        var (next, canStop) = spans.Allowed(" PO-17");
        Assert.False(canStop);
        Assert.NotEmpty(next);
        Assert.All(next, id => Assert.StartsWith("PO-17" + Text(id), "PO-1727."));
        Assert.True(spans.Allowed(" PO-1727").CanStop);
        Assert.True(spans.Allowed(" 4620.40 GBP").CanStop);
        Assert.False(spans.Allowed(" 4620.4").CanStop);
    }

    [Fact]
    public void GroundedSampling_DrawsOnlyWholeSpans_WhereFreeSamplingDoesNot()
    {
        using var model = TinyModels.Create(seed: 5);
        var tokenizer = TinyModels.Tokenizer();
        var generator = new TextGenerator(model, tokenizer);
        var prompt = tokenizer.EncodePrompt([new ChatMessage("user", $"{Invoice}\nquestion: which order does it belong to?")]);
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 1.5, SamplesPerPrompt = 48, Seed = 3 };

        var grounded = generator.Generate([prompt], options, null, null, [Invoice]);
        var free = generator.Generate([prompt], options);

        var ended = grounded.Where(s => s.FinishReason == "stop").ToList();
        Assert.NotEmpty(ended);
        Assert.All(ended, s => Assert.True(SubstringScorer.IsWholeSpan(Invoice, s.Text.Trim()), $"'{s.Text}' is not a whole span"));
        // Cut off by the token limit, an answer is still a piece of the document read from a word boundary.
        Assert.All(grounded, s => Assert.Contains(s.Text.Trim(), Invoice));
        // The untrained model on its own says anything: the constraint is what grounds the samples.
        Assert.Contains(free, s => !SubstringScorer.IsWholeSpan(Invoice, s.Text.Trim()));
        // The log-probabilities are the unconstrained model's (what on-policy objectives compare against).
        Assert.All(grounded, s => Assert.All(s.Logprobs, p => Assert.True(p <= 0)));
    }
}
