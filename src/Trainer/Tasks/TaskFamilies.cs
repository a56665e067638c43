using Tao.Storage;

namespace Tao.Trainer.Tasks;

/// <summary>The project's task families: what its base model is trained on, and what the benchmark and the demo use.</summary>
public static class TaskFamilies
{
    public static IReadOnlyList<ITaskFamily> All(ClickHouseStore store) =>
        [new SqlTaskFamily(store), new DocumentQaTaskFamily(), new UnitConversionTaskFamily()];
}
