namespace Tao.Trainer.Training;

/// <summary>A prompt and completion as token ids, with its weight in the loss (GRPO: its advantage).</summary>
internal sealed record TrainingItem(int[] Prompt, int[] Completion, double Advantage = 1);
