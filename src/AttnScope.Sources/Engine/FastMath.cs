using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AttnScope.Sources.Engine;

/// <summary>Vectorised float helpers for the hot loops (softmax, erf).</summary>
internal static class FastMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>
    /// e^x for x ≤ 0 (inputs below −87 are treated as −87, giving about 1.6e-38 instead of a denormal or 0).
    /// x = n·ln2 + r with n from the round-to-nearest "magic number" trick (which also yields n's integer bits) and
    /// a two-part ln2 so r is exact to float precision, |r| ≤ ln2/2; e^r by a degree-7 Taylor polynomial
    /// (truncation below 5e-9 relative); 2^n goes straight into the exponent bits. About 2 ulp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNonPositive(Vector256<float> x)
    {
        const float Magic = 12582912f; // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits
        x = Vector256.Max(x, Vector256.Create(-87f));
        var t = Madd(x, Vector256.Create(1.44269504088896341f), Vector256.Create(Magic));
        var n = t - Vector256.Create(Magic);
        var r = Madd(n, Vector256.Create(-0.693145751953125f), x);
        r = Madd(n, Vector256.Create(-1.428606765330187045e-06f), r);
        var p = Vector256.Create(1f / 5040);
        p = Madd(p, r, Vector256.Create(1f / 720));
        p = Madd(p, r, Vector256.Create(1f / 120));
        p = Madd(p, r, Vector256.Create(1f / 24));
        p = Madd(p, r, Vector256.Create(1f / 6));
        p = Madd(p, r, Vector256.Create(0.5f));
        p = Madd(p, r, Vector256<float>.One);
        p = Madd(p, r, Vector256<float>.One);
        // bits(t) = bits(Magic) + n, so (bits(t) − bits(Magic) + 127) << 23 is the float 2^n.
        var scale = (t.AsInt32() + Vector256.Create(127 - BitConverter.SingleToInt32Bits(Magic))) << 23;
        return p * scale.AsSingle();
    }
}
