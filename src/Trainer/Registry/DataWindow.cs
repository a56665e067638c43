namespace Tao.Trainer.Registry;

public sealed record DataWindow(DateTime From, DateTime To, int Inputs);
