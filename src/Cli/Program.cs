using Tao.Cli;

return await TaoCli.Create().Parse(args).InvokeAsync();
