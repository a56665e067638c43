using System.Collections;
using System.CommandLine;

namespace Tao.Cli.Commands;

/// <summary>tao config check: validate configuration files and Tao__… environment variables before deploying them.</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "JSON configuration files, applied in order.", Arity = ArgumentArity.OneOrMore };
        var check = new Command("check",
            "Check configuration files (plus Section__Key environment variables of this process) against the settings the gateway, " +
            "flywheel and model server read: unknown keys, values of the wrong type, models naming missing clusters. Exits 1 on any problem.")
        {
            files,
        };
        check.SetAction(result =>
        {
            var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
                .Select(e => new KeyValuePair<string, string>((string)e.Key, (string?)e.Value ?? string.Empty))
                .Where(e => e.Key.StartsWith("Tao__", StringComparison.OrdinalIgnoreCase) || e.Key.StartsWith("ReverseProxy__", StringComparison.OrdinalIgnoreCase));
            var problems = ConfigurationChecker.Check(ConfigurationChecker.Load(result.GetValue(files)!, environment));
            foreach (var problem in problems)
            {
                Console.Error.WriteLine(problem);
            }

            Console.WriteLine(problems.Count == 0 ? "configuration ok" : $"{problems.Count} problem(s)");
            return problems.Count == 0 ? 0 : 1;
        });
        return new Command("config", "Configuration tools.") { check };
    }
}
