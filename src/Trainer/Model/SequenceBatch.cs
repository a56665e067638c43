using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Prompt + completion pairs as a right-padded batch, and the log-probability the model gives each completion token.</summary>
internal static class SequenceBatch
{
    /// <summary>
    /// ids [b, t], attention [b, t] (1 = token), target [b, t]: the loss weight of each token, 1 for completion tokens
    /// and <paramref name="promptWeight"/> for prompt tokens after the first (0: the loss scores answers only).
    /// </summary>
    public static (Tensor Ids, Tensor Attention, Tensor Target) Build(IReadOnlyList<(int[] Prompt, int[] Completion)> items, int padId, Device device,
        float promptWeight = 0)
    {
        var width = items.Max(i => i.Prompt.Length + i.Completion.Length);
        var ids = new long[items.Count * width];
        var attention = new long[items.Count * width];
        var target = new float[items.Count * width];
        for (var r = 0; r < items.Count; r++)
        {
            var (prompt, completion) = items[r];
            for (var c = 0; c < width; c++)
            {
                var index = r * width + c;
                if (c < prompt.Length)
                {
                    ids[index] = prompt[c];
                    attention[index] = 1;
                    target[index] = c > 0 ? promptWeight : 0;
                }
                else if (c < prompt.Length + completion.Length)
                {
                    ids[index] = completion[c - prompt.Length];
                    attention[index] = 1;
                    target[index] = 1;
                }
                else
                {
                    ids[index] = padId;
                }
            }
        }

        return (tensor(ids, [items.Count, width], device: device), tensor(attention, [items.Count, width], device: device),
            tensor(target, [items.Count, width], device: device));
    }

    /// <summary>
    /// Log-probability of each token given the ones before it, [b, t-1], and the mask of completion positions, [b, t-1].
    /// Only positions the mask weighs are computed (elsewhere 0): the output head and the softmax over the vocabulary run on
    /// the answer's few tokens, not on every prompt token (a docqa input is ~70 prompt tokens and ~5 answer tokens).
    /// </summary>
    public static (Tensor Logprobs, Tensor Mask) TokenLogProbs(LlamaForCausalLM model, Tensor ids, Tensor attention, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (ids.shape[0], ids.shape[1]);
        var mask = target[.., 1..];
        var rows = mask.reshape(-1).nonzero().squeeze(-1);
        var hidden = model.model.forward(new CausalLMInput(ids, attention))[.., ..^1, ..];
        var selected = hidden.reshape(-1, hidden.shape[^1]).index_select(0, rows);
        var logProbs = nn.functional.log_softmax(model.lm_head.forward(selected).to_type(ScalarType.Float32), -1);
        var next = ids[.., 1..].reshape(-1).index_select(0, rows);
        var chosen = logProbs.gather(-1, next.unsqueeze(-1)).squeeze(-1);
        var all = zeros(batch * (length - 1), ScalarType.Float32, device: ids.device).index_copy(0, rows, chosen).view(batch, length - 1);
        return (all.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }
}
