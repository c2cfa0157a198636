using AttnScope.Sources.Vision;

namespace AttnScope.Training.Vision;

/// <summary>A generated image, its class (the shape) and where the shape is.</summary>
internal sealed record ShapeSample(RgbImage Image, int Label, PixelBox Box);

/// <summary>
/// A generated localisation task: one shape (disc, square, triangle or cross; the class) of a random colour and size
/// at a random place, over a noisy, textured background. The shape's bounding box is known, so where a
/// classifier's explanation points can be checked (pointing game). With a distractor, a ring (no class) of another
/// random colour is drawn beside the shape, not overlapping its box: a map that points at whatever stands out, rather
/// than at what decides the class, then misses. Seeded: a seed gives the same images.
/// </summary>
internal static class ShapeImages
{
    public static readonly string[] Labels = ["disc", "square", "triangle", "cross"];

    public static ShapeSample Make(Random rng, int size = 48, bool distractor = false)
    {
        var px = new byte[size * size * 3];
        // Background: a gentle random gradient with noise (the shape is not the only thing that varies).
        double gx = rng.NextDouble() * 60 - 30, gy = rng.NextDouble() * 60 - 30, b0 = 90 + rng.NextDouble() * 60;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 3; c++)
                    px[(y * size + x) * 3 + c] = Clamp(b0 + gx * x / size + gy * y / size + (rng.NextDouble() - 0.5) * 50);
        int label = rng.Next(Labels.Length);
        int s = rng.Next(size / 4, size / 3 + 1);
        int left = rng.Next(0, size - s + 1), top = rng.Next(0, size - s + 1);
        byte[] colour = [.. Enumerable.Range(0, 3).Select(_ => (byte)(rng.Next(2) == 0 ? rng.Next(0, 60) : rng.Next(195, 256)))];
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
            {
                if (!Inside(label, x + 0.5, y + 0.5, s)) continue;
                int o = ((top + y) * size + left + x) * 3;
                px[o] = colour[0]; px[o + 1] = colour[1]; px[o + 2] = colour[2];
            }
        var box = new PixelBox(left, top, left + s, top + s);
        if (distractor)
        {
            int ds = rng.Next(size / 4, size / 3 + 1);
            byte[] dc = [.. Enumerable.Range(0, 3).Select(_ => (byte)(rng.Next(2) == 0 ? rng.Next(0, 60) : rng.Next(195, 256)))];
            for (int attempt = 0; attempt < 50; attempt++)
            {
                int dl = rng.Next(0, size - ds + 1), dt = rng.Next(0, size - ds + 1);
                if (box.Overlaps(dl, dt, dl + ds, dt + ds)) continue;
                for (int y = 0; y < ds; y++)
                    for (int x = 0; x < ds; x++)
                    {
                        double u = (x + 0.5) / ds - 0.5, v = (y + 0.5) / ds - 0.5, r2 = u * u + v * v;
                        if (r2 > 0.25 || r2 < 0.09) continue;
                        int o = ((dt + y) * size + dl + x) * 3;
                        px[o] = dc[0]; px[o + 1] = dc[1]; px[o + 2] = dc[2];
                    }
                break;
            }
        }
        return new ShapeSample(new RgbImage(size, size, px), label, box);
    }

    private static bool Inside(int label, double x, double y, int s)
    {
        double u = x / s, v = y / s; // 0…1 within the box
        return label switch
        {
            0 => (u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5) <= 0.25,
            1 => true,
            2 => v >= 0.05 && Math.Abs(u - 0.5) <= v / 2,
            _ => Math.Abs(u - 0.5) <= 0.17 || Math.Abs(v - 0.5) <= 0.17,
        };
    }

    private static byte Clamp(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
