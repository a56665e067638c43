using System.Text;

namespace Tao.Trainer.Tokenization;

/// <summary>
/// Renders chat messages into the prompt text a model was trained on. The common families are built in and picked
/// from the Jinja template in tokenizer_config.json by their marker tokens; models without one get the plain template.
/// </summary>
public abstract class ChatTemplate
{
    public abstract string Name { get; }

    /// <summary>The prompt, ending where the assistant's answer starts.</summary>
    public abstract string Render(IReadOnlyList<ChatMessage> messages);

    /// <summary>Text that ends an assistant turn (besides the tokenizer's end-of-sequence token).</summary>
    public virtual string? EndOfTurn => null;

    public static ChatTemplate Plain { get; } = new PlainTemplate();

    /// <summary>Picks the family from a Hugging Face chat_template (null or unknown: plain).</summary>
    public static ChatTemplate Detect(string? jinja) => jinja switch
    {
        null or "" => Plain,
        _ when jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) => new Llama3Template(),
        _ when jinja.Contains("<|im_start|>", StringComparison.Ordinal) => new ChatMlTemplate(),
        _ when jinja.Contains("[INST]", StringComparison.Ordinal) => new Llama2Template(),
        _ => Plain,
    };

    public static ChatTemplate ByName(string name) => name switch
    {
        "plain" => Plain,
        "llama3" => new Llama3Template(),
        "chatml" => new ChatMlTemplate(),
        "llama2" => new Llama2Template(),
        _ => throw new ArgumentException($"unknown chat template '{name}' (plain, llama3, chatml, llama2)"),
    };

    private sealed class PlainTemplate : ChatTemplate
    {
        public override string Name => "plain";

        public override string Render(IReadOnlyList<ChatMessage> messages)
        {
            var text = new StringBuilder();
            foreach (var message in messages)
            {
                text.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
            }

            return text.Append("assistant:").ToString();
        }
    }

    private sealed class Llama3Template : ChatTemplate
    {
        public override string Name => "llama3";
        public override string EndOfTurn => "<|eot_id|>";

        public override string Render(IReadOnlyList<ChatMessage> messages)
        {
            var text = new StringBuilder("<|begin_of_text|>");
            foreach (var message in messages)
            {
                text.Append("<|start_header_id|>").Append(message.Role).Append("<|end_header_id|>\n\n").Append(message.Content.Trim()).Append("<|eot_id|>");
            }

            return text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n").ToString();
        }
    }

    private sealed class ChatMlTemplate : ChatTemplate
    {
        public override string Name => "chatml";
        public override string EndOfTurn => "<|im_end|>";

        public override string Render(IReadOnlyList<ChatMessage> messages)
        {
            var text = new StringBuilder();
            foreach (var message in messages)
            {
                text.Append("<|im_start|>").Append(message.Role).Append('\n').Append(message.Content).Append("<|im_end|>\n");
            }

            return text.Append("<|im_start|>assistant\n").ToString();
        }
    }

    private sealed class Llama2Template : ChatTemplate
    {
        public override string Name => "llama2";
        public override string EndOfTurn => "</s>";

        public override string Render(IReadOnlyList<ChatMessage> messages)
        {
            var text = new StringBuilder();
            var system = messages.FirstOrDefault(m => m.Role == "system")?.Content;
            var first = true;
            foreach (var message in messages.Where(m => m.Role != "system"))
            {
                if (message.Role == "user")
                {
                    var content = first && system is not null ? $"<<SYS>>\n{system}\n<</SYS>>\n\n{message.Content}" : message.Content;
                    text.Append("<s>[INST] ").Append(content.Trim()).Append(" [/INST]");
                    first = false;
                }
                else
                {
                    text.Append(' ').Append(message.Content.Trim()).Append(" </s>");
                }
            }

            return text.ToString();
        }
    }
}
