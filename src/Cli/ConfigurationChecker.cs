using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Tao.Gateway.State;
using Yarp.ReverseProxy.Configuration;

namespace Tao.Cli;

/// <summary>
/// Checks configuration against the option types the services bind, so a typo in a config file, a Kubernetes
/// ConfigMap or a <c>Tao__Section__Key</c> environment variable is an error before deployment instead of a silently
/// ignored setting. Every leaf key must name a property of the bound type (dictionaries take any key, lists take
/// indexes) and its value must convert to that property's type; models must name configured clusters.
/// </summary>
internal static class ConfigurationChecker
{
    /// <summary>
    /// Configuration sections and the types bound to them, the longest matching prefix deciding: every Tao options type —
    /// a public class with a <c>Section</c> constant, in any Tao assembly this program references — and YARP's two
    /// sections. Found by reflection, so an options type a service binds cannot be missing from the check.
    /// </summary>
    internal static IReadOnlyList<(string Prefix, Type Type)> Sections { get; } =
    [
        .. TaoAssemblies().SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false })
            .Select(t => (Prefix: SectionOf(t)!, Type: t))
            .Where(s => s.Prefix is not null)
            .OrderBy(s => s.Prefix, StringComparer.Ordinal),
        ("ReverseProxy:Clusters", typeof(Dictionary<string, ClusterConfig>)),
        ("ReverseProxy:Routes", typeof(Dictionary<string, RouteConfig>)),
    ];

    /// <summary>Sections owned by ASP.NET Core and .NET logging, whose keys are not ours to check.</summary>
    private static readonly string[] s_foreign = ["Logging", "Kestrel", "AllowedHosts"];

    /// <summary>Every problem found, one line each; empty when the configuration is valid.</summary>
    public static IReadOnlyList<string> Check(IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var (key, value) in configuration.AsEnumerable().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (value is null)
            {
                continue; // a section node; its leaves are checked
            }

            var segments = key.Split(':');
            if (s_foreign.Contains(segments[0], StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var section = Sections.Where(s => StartsWith(segments, s.Prefix.Split(':'))).MaxBy(s => s.Prefix.Length);
            if (section.Type is null)
            {
                problems.Add($"{key}: unknown setting (Tao reads Tao:…, ReverseProxy:Clusters/Routes, Logging:…)");
                continue;
            }

            CheckLeaf(key, segments.AsSpan(section.Prefix.Split(':').Length), section.Type, value, problems);
        }

        var clusters = configuration.GetSection("ReverseProxy:Clusters").GetChildren().Select(c => c.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var model in configuration.GetSection("Tao:Models").GetChildren())
        {
            var cluster = model["Cluster"];
            if (string.IsNullOrEmpty(cluster))
            {
                problems.Add($"Tao:Models:{model.Key}:Cluster: every model needs the cluster that serves it");
            }
            else if (!clusters.Contains(cluster))
            {
                problems.Add($"Tao:Models:{model.Key}:Cluster: '{cluster}' is not under ReverseProxy:Clusters");
            }

            if (new ModelEntry { Api = model["Api"] }.ApiProblem() is { } api)
            {
                problems.Add($"Tao:Models:{model.Key}:Api: {api}");
            }
        }

        return problems;
    }

    /// <summary>Configuration as a service would read it: JSON files, then environment variables (Tao__Gateway__Urls …).</summary>
    public static IConfigurationRoot Load(IEnumerable<string> files, IEnumerable<KeyValuePair<string, string>> environment)
    {
        var builder = new ConfigurationBuilder();
        foreach (var file in files)
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        }

        builder.AddInMemoryCollection(environment
            .Where(e => e.Key.Contains("__", StringComparison.Ordinal))
            .Select(e => new KeyValuePair<string, string?>(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value)));
        return builder.Build();
    }

    /// <summary>The value of a type's public <c>Section</c> string constant, or null when it has none.</summary>
    internal static string? SectionOf(Type type) =>
        type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field && field.FieldType == typeof(string)
            ? (string?)field.GetRawConstantValue()
            : null;

    /// <summary>This program's Tao assemblies: the ones it references, directly or through each other.</summary>
    internal static IReadOnlyCollection<Assembly> TaoAssemblies()
    {
        var found = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>([typeof(ConfigurationChecker).Assembly]);
        while (pending.TryPop(out var assembly))
        {
            foreach (var name in assembly.GetReferencedAssemblies())
            {
                if (name.Name is { } simple && simple.StartsWith("Tao.", StringComparison.Ordinal) && !found.ContainsKey(simple))
                {
                    found[simple] = Assembly.Load(name);
                    pending.Push(found[simple]);
                }
            }
        }

        return found.Values;
    }

    private static bool StartsWith(string[] segments, string[] prefix) =>
        segments.Length > prefix.Length && prefix.Select((p, i) => string.Equals(p, segments[i], StringComparison.OrdinalIgnoreCase)).All(b => b);

    private static void CheckLeaf(string key, ReadOnlySpan<string> path, Type type, string value, List<string> problems)
    {
        foreach (var segment in path)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (DictionaryValueType(type) is { } valueType)
            {
                type = valueType;
            }
            else if (ListElementType(type) is { } elementType)
            {
                if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{key}: '{segment}' must be a list index (0, 1, …)");
                    return;
                }

                type = elementType;
            }
            else if (IsValue(type))
            {
                problems.Add($"{key}: {type.Name} setting has no sub-key '{segment}'");
                return;
            }
            else
            {
                var property = type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                if (property is null || property.GetIndexParameters().Length > 0)
                {
                    var known = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).Order(StringComparer.Ordinal);
                    problems.Add($"{key}: '{segment}' is not a setting of {type.Name} (known: {string.Join(", ", known)})");
                    return;
                }

                type = property.PropertyType;
            }
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        if (!IsValue(type))
        {
            if (value.Length > 0)
            {
                problems.Add($"{key}: expects a section ({type.Name}), not the value '{value}'");
            }

            return;
        }

        if (type == typeof(string) || value.Length == 0)
        {
            return;
        }

        try
        {
            _ = type.IsEnum
                ? Enum.Parse(type, value, ignoreCase: true)
                : TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException || e.InnerException is FormatException)
        {
            var allowed = type.IsEnum ? $" (one of {string.Join(", ", Enum.GetNames(type))})" : string.Empty;
            problems.Add($"{key}: '{value}' is not a valid {type.Name}{allowed}");
        }
    }

    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Version) || type == typeof(Uri);

    private static Type? DictionaryValueType(Type type)
    {
        foreach (var candidate in type.GetInterfaces().Append(type))
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() is var definition
                && (definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)))
            {
                return candidate.GetGenericArguments()[1];
            }
        }

        return null;
    }

    private static Type? ListElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        return type.GetInterfaces().Append(type)
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            .Select(i => i.GetGenericArguments()[0])
            .FirstOrDefault();
    }
}
