using AttnScope.Capture;

namespace AttnScope.Sources.Vision;

/// <summary>The resampling filters of PIL, numbered as PIL numbers them (preprocessor_config.json's <c>resample</c>).</summary>
internal enum ResampleFilter { Nearest = 0, Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 }

/// <summary>
/// Resizing an 8-bit image the way PIL's <c>Image.resize</c> does it (which Hugging Face's image processors call),
/// written from PIL's documented algorithm: a separable convolution, horizontal pass first, then vertical; when
/// shrinking, the filter is widened by the scale factor (antialiasing); weights normalised per output pixel, turned
/// into fixed-point integers with 22 fractional bits, and each pass rounded and clipped to 0…255. Nearest takes
/// the source pixel under each output pixel's centre. Checked byte for byte against PIL (tests).
/// </summary>
internal static class PilResample
{
    private const int PrecisionBits = 32 - 8 - 2;

    private static double Support(ResampleFilter f) => f switch
    {
        ResampleFilter.Box => 0.5,
        ResampleFilter.Bilinear or ResampleFilter.Hamming => 1.0,
        ResampleFilter.Bicubic => 2.0,
        ResampleFilter.Lanczos => 3.0,
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    private static double Kernel(ResampleFilter f, double x)
    {
        switch (f)
        {
            case ResampleFilter.Box:
                return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
            case ResampleFilter.Bilinear:
                if (x < 0) x = -x;
                return x < 1.0 ? 1.0 - x : 0.0;
            case ResampleFilter.Hamming:
                if (x < 0) x = -x;
                if (x == 0.0) return 1.0;
                if (x >= 1.0) return 0.0;
                x *= Math.PI;
                return Math.Sin(x) / x * (0.54 + 0.46 * Math.Cos(x));
            case ResampleFilter.Bicubic:
            {
                const double a = -0.5;
                if (x < 0) x = -x;
                if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
                return 0.0;
            }
            case ResampleFilter.Lanczos:
                return x >= -3.0 && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;
            default:
                throw new ArgumentOutOfRangeException(nameof(f));
        }
    }

    /// <summary>The image resized to <paramref name="width"/>×<paramref name="height"/>.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, ResampleFilter filter)
    {
        ArgumentNullException.ThrowIfNull(image);
        RgbImage.Check(width, height);
        if (!Enum.IsDefined(filter)) throw new AttnScopeException($"resample filter {(int)filter} is not one of PIL's (0 nearest … 5 hamming)");
        if (filter == ResampleFilter.Nearest) return Nearest(image, width, height);
        var src = image;
        if (width != image.Width)
        {
            var (bounds, k, ksize) = Coefficients(image.Width, width, filter);
            src = Horizontal(src, width, bounds, k, ksize);
        }
        if (height != image.Height)
        {
            var (bounds, k, ksize) = Coefficients(image.Height, height, filter);
            src = Vertical(src, height, bounds, k, ksize);
        }
        return ReferenceEquals(src, image) ? new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone()) : src;
    }

    private static RgbImage Nearest(RgbImage image, int width, int height)
    {
        double sx = (double)image.Width / width, sy = (double)image.Height / height;
        var p = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int yi = Math.Min(image.Height - 1, (int)((y + 0.5) * sy));
            for (int x = 0; x < width; x++)
            {
                int xi = Math.Min(image.Width - 1, (int)((x + 0.5) * sx));
                image.Pixels.AsSpan((yi * image.Width + xi) * 3, 3).CopyTo(p.AsSpan((y * width + x) * 3, 3));
            }
        }
        return new RgbImage(width, height, p);
    }

    /// <summary>Per output pixel: the first input pixel and the count, and the fixed-point weights (ksize per pixel).</summary>
    private static (int[] Bounds, int[] Weights, int KSize) Coefficients(int inSize, int outSize, ResampleFilter filter)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(1.0, scale);
        double support = Support(filter) * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var weights = new int[outSize * ksize];
        var k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.Max(0, (int)(center - support + 0.5));
            int xmax = Math.Min(inSize, (int)(center + support + 0.5)) - xmin;
            double ww = 0;
            for (int x = 0; x < xmax; x++)
            {
                k[x] = Kernel(filter, (x + xmin - center + 0.5) * ss);
                ww += k[x];
            }
            for (int x = 0; x < ksize; x++)
            {
                double w = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
                weights[xx * ksize + x] = w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return (bounds, weights, ksize);
    }

    private static byte Clip(long v)
    {
        long s = v >> PrecisionBits;
        return s < 0 ? (byte)0 : s > 255 ? (byte)255 : (byte)s;
    }

    private static RgbImage Horizontal(RgbImage im, int width, int[] bounds, int[] k, int ksize)
    {
        var p = new byte[width * im.Height * 3];
        var src = im.Pixels;
        for (int y = 0; y < im.Height; y++)
            for (int x = 0; x < width; x++)
            {
                int xmin = bounds[x * 2], n = bounds[x * 2 + 1], kb = x * ksize;
                for (int c = 0; c < 3; c++)
                {
                    long ss = 1L << (PrecisionBits - 1);
                    for (int i = 0; i < n; i++) ss += src[(y * im.Width + xmin + i) * 3 + c] * (long)k[kb + i];
                    p[(y * width + x) * 3 + c] = Clip(ss);
                }
            }
        return new RgbImage(width, im.Height, p);
    }

    private static RgbImage Vertical(RgbImage im, int height, int[] bounds, int[] k, int ksize)
    {
        int w = im.Width;
        var p = new byte[w * height * 3];
        var src = im.Pixels;
        for (int y = 0; y < height; y++)
        {
            int ymin = bounds[y * 2], n = bounds[y * 2 + 1], kb = y * ksize;
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    long ss = 1L << (PrecisionBits - 1);
                    for (int i = 0; i < n; i++) ss += src[((ymin + i) * w + x) * 3 + c] * (long)k[kb + i];
                    p[(y * w + x) * 3 + c] = Clip(ss);
                }
        }
        return new RgbImage(w, height, p);
    }
}
