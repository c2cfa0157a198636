using System.Text.Json;
using AttnScope.Capture;
using AttnScope.Sources.Tokenization;

namespace AttnScope.Tests.Tokenization;

/// <summary>
/// Marian's tokenizer (SentencePiece unigram source.spm/target.spm + vocab.json) against goldens from SentencePiece's
/// own C++ encoder (Debian python3-sentencepiece), mapped through vocab.json as Hugging Face's MarianTokenizer does
/// (tests/AttnScope.Tests/Golden/make_marian_spm_golden.py). The reference segmentation is not produced by .NET code.
/// </summary>
public class MarianTokenizerTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-marian-spm");
    private static JsonElement Golden => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "tokenizer_golden.json"))).RootElement;

    public static IEnumerable<object[]> Cases()
    {
        var g = Golden;
        foreach (var side in new[] { "source", "target" })
            for (int i = 0; i < g.GetProperty(side).GetArrayLength(); i++) yield return [side, i];
    }

    [Theory, MemberData(nameof(Cases))]
    public void Ids_and_pieces_match_sentencepiece(string side, int index)
    {
        var c = Golden.GetProperty(side)[index];
        var tok = MarianTokenizer.Load(Folder);
        string text = c.GetProperty("text").GetString()!;
        var enc = side == "source" ? tok.EncodeSource(text) : tok.EncodeTarget(text);
        var ids = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(ids, enc.Ids);
        Assert.Equal(tok.EosId, enc.Ids[^1]);
        // Pieces: SentencePiece reports an unknown run by its surface text; compare only known pieces.
        var pieces = c.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!).ToArray();
        for (int i = 0; i < pieces.Length; i++)
            if (ids[i] != tok.UnkId) Assert.Equal(pieces[i], enc.Pieces[i]);
        if (c.TryGetProperty("decoded", out var d)) Assert.Equal(d.GetString(), tok.Decode(enc.Ids));
    }

    [Fact]
    public void Special_ids_follow_vocab_json()
    {
        var tok = MarianTokenizer.Load(Folder);
        Assert.Equal(0, tok.EosId);
        Assert.Equal(1, tok.UnkId);
        Assert.Equal(tok.VocabSize - 1, tok.PadId);
        Assert.Equal(tok.PadId, tok.DecoderStartId);
        // A piece source.spm produces but vocab.json lacks maps to <unk>.
        string missing = Golden.GetProperty("missing_piece").GetString()!;
        var enc = tok.EncodeSource("the" + missing.Replace('\u2581', ' '));
        Assert.Contains(tok.UnkId, enc.Ids);
    }

    [Fact]
    public void Missing_or_bad_files_are_clear_errors()
    {
        var dir = Directory.CreateTempSubdirectory("marian-tok").FullName;
        try
        {
            Assert.Contains("source.spm", Assert.Throws<AttnScopeException>(() => MarianTokenizer.Load(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "source.spm"), "not a model");
            File.Copy(Path.Combine(Folder, "target.spm"), Path.Combine(dir, "target.spm"));
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{\"</s>\":0,\"<unk>\":1,\"<pad>\":2}");
            Assert.Contains("SentencePiece", Assert.Throws<AttnScopeException>(() => MarianTokenizer.Load(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "[1,2]");
            Assert.Throws<AttnScopeException>(() => MarianTokenizer.Load(dir));
        }
        finally { Directory.Delete(dir, true); }
    }
}
