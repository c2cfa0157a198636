using System.Runtime.InteropServices;

namespace AttnScope.Capture.SafeTensors;

/// <summary>
/// Asks Linux to back a large, not yet touched array with 2 MiB pages (madvise MADV_HUGEPAGE; the machine's
/// transparent huge page setting is usually "madvise", which leaves ordinary arrays on 4 KiB pages). Reading a
/// 75 MB capture into fresh memory then takes some 40 page faults instead of 18,000. Only a hint: where the kernel
/// cannot or will not, nothing changes, and the array's contents never depend on it.
/// </summary>
internal static partial class HugePages
{
    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    private const int MadvHugepage = 14;
    private const nint HugePageSize = 2 << 20;

    public static unsafe void Advise(float[] array)
    {
        if (!OperatingSystem.IsLinux() || array.LongLength * 4 < 2 * HugePageSize) return;
        try
        {
            fixed (float* p = array)
            {
                nint start = (nint)p, end = start + (nint)(array.LongLength * 4);
                // whole huge pages inside the array only: the advice never reaches memory the array does not own
                nint from = (start + HugePageSize - 1) & ~(HugePageSize - 1), to = end & ~(HugePageSize - 1);
                if (to > from) Madvise(from, (nuint)(to - from), MadvHugepage);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // no C library under that name: a hint less
        }
    }
}
