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

    /// <summary>Lane-wise maximum as a single vmaxps (no IEEE NaN/±0 fix-ups; inputs are finite or −∞).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b)
        => Avx.IsSupported ? Avx.Max(a, b) : Vector256.Max(a, b);

    /// <summary>Largest of the 8 lanes by two in-register halvings and vmaxps (no scalar NaN-aware compares).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalMax(Vector256<float> v)
    {
        var m = Max(v.GetLower().ToVector256Unsafe(), v.GetUpper().ToVector256Unsafe()).GetLower();
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }

    /// <summary>
    /// e^x for x ≤ 0 (inputs below −87 are treated as −87, giving about 1.6e-38 instead of a denormal or 0).
    /// x = n·ln2 + r with n from the round-to-nearest "magic number" trick (which also yields n's integer bits) and
    /// a two-part ln2 so r is exact to float precision, |r| ≤ ln2/2; e^r = 1 + r·Q(r) with Q of degree 5
    /// interpolating (e^r − 1)/r at the Chebyshev nodes of [−ln2/2, ln2/2] (6.4e-8 relative in float, one FMA
    /// fewer than the degree-7 Taylor polynomial it replaces; e^0 is exactly 1); 2^n goes straight into the
    /// exponent bits. The clamp uses the native vmaxps (IEEE maximum adds NaN/±0 fix-ups the softmax never needs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNonPositive(Vector256<float> x)
    {
        const float Magic = 12582912f; // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits
        x = Max(x, Vector256.Create(-87f));
        var t = Madd(x, Vector256.Create(1.44269504088896341f), Vector256.Create(Magic));
        var n = t - Vector256.Create(Magic);
        var r = Madd(n, Vector256.Create(-0.693145751953125f), x);
        r = Madd(n, Vector256.Create(-1.428606765330187045e-06f), r);
        var p = Vector256.Create(0.0013933641603216529f);
        p = Madd(p, r, Vector256.Create(0.008369148708879948f));
        p = Madd(p, r, Vector256.Create(0.04166646674275398f));
        p = Madd(p, r, Vector256.Create(0.16666504740715027f));
        p = Madd(p, r, Vector256.Create(0.5f));
        p = Madd(p, r, Vector256<float>.One);
        p = Madd(p, r, Vector256<float>.One);
        // bits(t) = bits(Magic) + n and bits(Magic) has nine zero low bits, so bits(t) << 23 = n << 23 (mod 2^32);
        // adding bits(1f) = 127 << 23 gives the float 2^n, reusing the 1 already held for the polynomial (one
        // register fewer: the softmax loop otherwise spills its running sum).
        var scale = (t.AsInt32() << 23) + Vector256<float>.One.AsInt32();
        return p * scale.AsSingle();
    }

    /// <summary>
    /// e^x for x ≤ 0 to an absolute error of about 2.6e-7·e^x, for softmax numerators, which are compared with 1 (the
    /// row maximum's term) and need no relative accuracy in the far tail: one-part ln2 in the reduction (its
    /// rounding adds n·1.9e-9 to r, negligible once e^x is small) and Q of degree 4 — two FMAs fewer than
    /// <see cref="ExpNonPositive"/>. Same clamp at −87.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpForSoftmax(Vector256<float> x)
    {
        const float Magic = 12582912f;
        x = Max(x, Vector256.Create(-87f));
        var t = Madd(x, Vector256.Create(1.44269504088896341f), Vector256.Create(Magic));
        var n = t - Vector256.Create(Magic);
        var r = Madd(n, Vector256.Create(-0.693147180559945f), x);
        var p = Vector256.Create(0.008363173343241215f);
        p = Madd(p, r, Vector256.Create(0.04187564551830292f));
        p = Madd(p, r, Vector256.Create(0.16666577756404877f));
        p = Madd(p, r, Vector256.Create(0.4999937117099762f));
        p = Madd(p, r, Vector256<float>.One);
        p = Madd(p, r, Vector256<float>.One);
        var scale = (t.AsInt32() << 23) + Vector256<float>.One.AsInt32();
        return p * scale.AsSingle();
    }
}
