using System.ClientModel.Primitives;

namespace Tao.Gateway.Tests;

/// <summary>Adds headers to every request the OpenAI client sends (to steer the fake upstream).</summary>
internal sealed class HeaderPolicy(Dictionary<string, string> headers) : PipelinePolicy
{
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Add(message);
        ProcessNext(message, pipeline, currentIndex);
    }

    public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Add(message);
        return ProcessNextAsync(message, pipeline, currentIndex);
    }

    private void Add(PipelineMessage message)
    {
        foreach (var (name, value) in headers)
        {
            message.Request.Headers.Set(name, value);
        }
    }
}
