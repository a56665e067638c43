using Tao.Cli;

Tao.Trainer.TorchNumerics.Pin(); // before libtorch computes anything: the same kernels, the same weights on every host
return await TaoCli.Create().Parse(args).InvokeAsync();
