using System.Security.Cryptography;
using System.Text;

namespace Tao.Trainer.Training;

/// <summary>
/// Which inputs are set aside as a dev slice: a share of them chosen by a hash of their id and a seed — stable across
/// resumes, independent of arrival order, and the same for TAO's label-free selection and the labelled baseline's.
/// </summary>
internal static class DevSlice
{
    /// <summary>The ids set aside: round(count × fraction) clamped to [min, max]; none when there are fewer than 5 × min inputs.</summary>
    public static HashSet<string> Choose(IEnumerable<string> ids, ulong seed, double fraction, int min, int max)
    {
        var all = ids.ToList();
        if (fraction <= 0 || all.Count < 5 * min)
        {
            return [];
        }

        var count = Math.Clamp((int)Math.Round(all.Count * fraction), min, max);
        return all.OrderBy(id => BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}:{id}")))).Take(count).ToHashSet(StringComparer.Ordinal);
    }
}
