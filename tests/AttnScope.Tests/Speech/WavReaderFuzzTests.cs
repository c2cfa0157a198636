using AttnScope.Sources.Audio;
using AttnScope.Tests.Fuzz;
using Xunit.Abstractions;

namespace AttnScope.Tests.Speech;

/// <summary>Bounded fuzzing of the WAV reader: each mutated file is read or refused with one line, and the reader
/// allocates no more than the binary readers' limit (it never allocates what a declared chunk size asks for).</summary>
[Trait("Category", "Fuzz")]
public class WavReaderFuzzTests(ITestOutputHelper log)
{
    [Fact]
    public void WavFiles()
    {
        var seeds = new List<byte[]>();
        var tone = Enumerable.Range(0, 64).Select(i => MathF.Sin(i * 0.3f) * 0.4f).ToArray();
        foreach (var (fmt, bits, ext) in new[] { (1, 16, false), (1, 24, true), (3, 32, false), (1, 32, false) })
        {
            var ms = new MemoryStream();
            AudioFrontEndTests.WriteWav(ms, fmt, bits, 22050, [tone, tone], ext);
            seeds.Add(ms.ToArray());
        }
        var run = new FuzzRun { Name = "WAV reader", Seed = 1207, Seeds = seeds, AllocationLimit = BinaryReaderFuzzTests.BinaryLimit, Budget = TimeSpan.FromSeconds(3) };
        var outcome = run.Execute(bytes => WavReader.Read(new MemoryStream(bytes), "fuzz.wav"), log);
        Assert.True(outcome.Accepted > 0 && outcome.Refused > 0, outcome.ToString());
    }
}
