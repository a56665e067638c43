using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Tao.Trainer;

/// <summary>
/// Pins the CPU kernels libtorch computes with, so a training run gives the same weights on every host of one kind.
/// Left alone, oneMKL and ATen pick the fastest code path each CPU offers (AVX-512 with or without VNNI, AMX, AVX2), and
/// on a model this small the last-bit differences between paths grow over a training run into different models: on one
/// host the same base model, seed and inputs fine-tuned to 69.0 % and 74.0 %, and TAO to 87.0 % and 75.5 %, with only
/// the kernel set changed (docs/benchmarks.md). Pinned to one instruction set — AVX-512 where the CPU has it, else AVX2 —
/// oneMKL's conditional numerical reproducibility (MKL_CBWR) and ATen's dispatch (ATEN_CPU_CAPABILITY) give identical
/// results on every CPU with that set. AVX-512 is what these hosts pick anyway (no cost, same figures); forcing AVX2
/// there costs ~40 % of training speed, so hosts without AVX-512 form their own reproducible group. A variable already
/// set by the user wins. Must run before libtorch first computes (the CLI calls it first thing).
/// </summary>
public static class TorchNumerics
{
    /// <summary>The kernel set in force, as the report prints it; null before <see cref="Pin"/> or off x64.</summary>
    public static string? Kernels { get; private set; }

    public static void Pin()
    {
        if (Kernels is not null || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !Avx2.IsSupported)
        {
            return;
        }

        var avx512 = Avx512F.IsSupported && Avx512F.VL.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported; // what ATen requires of avx512
        var aten = Set("ATEN_CPU_CAPABILITY", avx512 ? "avx512" : "avx2");
        var mkl = Set("MKL_CBWR", avx512 ? "AVX512" : "AVX2");
        Kernels = $"ATEN_CPU_CAPABILITY={aten}, MKL_CBWR={mkl}";
    }

    private static string Set(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } existing)
        {
            return existing;
        }

        // .NET keeps its own copy of the environment on Unix; the native libraries read the C library's.
        if (!OperatingSystem.IsWindows())
        {
            _ = SetEnv(name, value, 0);
        }

        Environment.SetEnvironmentVariable(name, value);
        return value;
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
