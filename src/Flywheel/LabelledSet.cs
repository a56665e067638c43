using System.Text.Json;
using Tao.Trainer.Tokenization;

namespace Tao.Flywheel;

public static class LabelledSet
{
    public static List<LabelledEvalExample> Read(string path) => File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).Select(line =>
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var messages = root.GetProperty("messages").EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();
        var context = root.TryGetProperty("context", out var c) ? c.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString()) : new Dictionary<string, string>();
        return new LabelledEvalExample(messages, root.GetProperty("expected").GetString()!, context);
    }).ToList();

    public static void Write(string path, IEnumerable<LabelledEvalExample> examples)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllLines(path, examples.Select(e => JsonSerializer.Serialize(new
        {
            messages = e.Messages.Select(m => new { role = m.Role, content = m.Content }),
            expected = e.Expected,
            context = e.Context,
        })));
    }
}
