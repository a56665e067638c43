using System.CommandLine;
using Tao.Hosting;

// tao-gateway: what `tao gateway` runs, as an executable of its own that Native AOT compiles ahead of time — no JIT, no
// runtime files to map, the CLI's trainer and benchmarks left out — for the gateway's containers (deploy/). Its command
// line is `tao gateway`'s (GatewayCommandLine).
return await GatewayCommandLine.Configure(new RootCommand(GatewayCommandLine.Description), "tao-gateway").Parse(args).InvokeAsync();
