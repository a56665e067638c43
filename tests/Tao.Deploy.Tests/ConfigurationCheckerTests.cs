using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Tao.Cli;

namespace Tao.Deploy.Tests;

/// <summary>
/// `tao config check` knows every options type the services bind: its table is derived from the options types
/// themselves, and these tests look for the types independently — in every Tao assembly built beside them — so an
/// options class the checker cannot reach fails here instead of making the checker reject its settings.
/// </summary>
public sealed class ConfigurationCheckerTests
{
    [Fact]
    public void EverySectionedOptionsType_BuiltBesideTheTests_IsInTheCheckersTable()
    {
        var missing = SectionedTypes().Where(t => !ConfigurationChecker.Sections.Any(s => s.Type == t)).Select(t => t.FullName).ToList();

        Assert.NotEmpty(SectionedTypes());
        Assert.True(missing.Count == 0, $"options types tao config check does not know: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryOptionsClass_OfAnAssemblyThatBindsConfiguration_IsReachableFromASection()
    {
        // An *Options class is bound at a section of its own (a Section constant) or as a property of one that is
        // (ModelGroupOptions under FlywheelOptions.Groups). One that is neither would have settings the checker refuses.
        var reachable = new HashSet<Type>();
        var pending = new Stack<Type>(ConfigurationChecker.Sections.Select(s => s.Type));
        while (pending.TryPop(out var type))
        {
            if (!reachable.Add(type))
            {
                continue;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                foreach (var inner in Unwrap(property.PropertyType))
                {
                    pending.Push(inner);
                }
            }

            foreach (var inner in Unwrap(type).Where(t => t != type))
            {
                pending.Push(inner);
            }
        }

        var binding = SectionedTypes().Select(t => t.Assembly).Distinct().ToList();
        var options = binding.SelectMany(a => a.GetExportedTypes()).Where(t => t.IsClass && t.Name.EndsWith("Options", StringComparison.Ordinal)).ToList();
        var unreachable = options.Where(t => !reachable.Contains(t)).Select(t => t.FullName).ToList();

        Assert.Contains(binding, a => a.GetName().Name == "Tao.Flywheel");
        Assert.Contains(options, t => t.Name == "ModelGroupOptions");
        Assert.True(unreachable.Count == 0, $"options classes no configuration section reaches: {string.Join(", ", unreachable)}");
    }

    [Fact]
    public void EverySection_AcceptsEachOfItsSettingsAtItsDefault_AndRefusesAnUnknownOne()
    {
        foreach (var (prefix, type) in ConfigurationChecker.Sections.Where(s => s.Prefix.StartsWith("Tao", StringComparison.Ordinal)))
        {
            var defaults = Activator.CreateInstance(type)!;
            var settings = new Dictionary<string, string?>();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                if (property.GetValue(defaults) is { } value && (value is string || value.GetType().IsValueType))
                {
                    settings[$"{prefix}:{property.Name}"] = Convert.ToString(value, CultureInfo.InvariantCulture);
                }
            }

            var accepted = ConfigurationChecker.Check(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
            Assert.True(accepted.Count == 0, $"{type.Name}:\n{string.Join("\n", accepted)}");

            var refused = ConfigurationChecker.Check(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { [$"{prefix}:NoSuchSetting"] = "1" }).Build());
            Assert.Contains($"is not a setting of {type.Name}", Assert.Single(refused), StringComparison.Ordinal);
        }
    }

    /// <summary>Types with a Section constant in every Tao assembly in the test's folder, whoever references them.</summary>
    private static IReadOnlyList<Type> SectionedTypes() =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "Tao.*.dll")
            .Where(f => !Path.GetFileName(f).Contains(".Tests", StringComparison.Ordinal))
            .Select(f => Assembly.Load(AssemblyName.GetAssemblyName(f)))
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && ConfigurationChecker.SectionOf(t) is not null)
            .ToList();

    /// <summary>The Tao classes a property of this type binds: itself, a dictionary's values, a list's elements.</summary>
    private static IEnumerable<Type> Unwrap(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType)
        {
            return type.GetGenericArguments().SelectMany(Unwrap);
        }

        if (type.IsArray)
        {
            return Unwrap(type.GetElementType()!);
        }

        return type.IsClass && type.Namespace?.StartsWith("Tao.", StringComparison.Ordinal) == true ? [type] : [];
    }
}
