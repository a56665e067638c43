using System.Reflection;
using TorchSharp;

namespace Tao.Trainer.Lora;

/// <summary>
/// Replaces a registered submodule in place (same name, same position), which TorchSharp's register_module refuses
/// to do for an existing name. Both the field and the registry entry change, so parameters and names stay in sync.
/// </summary>
internal static class ModuleSurgery
{
    private static readonly FieldInfo s_submodules = typeof(torch.nn.Module).GetField("_internal_submodules", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingFieldException("TorchSharp changed: nn.Module has no _internal_submodules");

    public static void Replace(torch.nn.Module owner, string name, torch.nn.Module replacement)
    {
        var field = owner.GetType().GetField(name) ?? throw new ArgumentException($"{owner.GetType().Name} has no field {name}");
        var registry = (TorchSharp.Utils.OrderedDict<string, torch.nn.Module>)s_submodules.GetValue(owner)!;
        if (!registry.ContainsKey(name))
        {
            throw new ArgumentException($"{name} is not a registered submodule of {owner.GetType().Name}");
        }

        field.SetValue(owner, replacement);
        registry[name] = replacement;
    }
}
