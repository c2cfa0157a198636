using System.Text;
using AttnScope.Capture;

namespace AttnScope.Sources.Tokenization;

/// <summary>
/// Decodes generated ids one at a time into the text of the continuation, and gives each generated id the
/// <see cref="CaptureToken"/> to append to a capture.
/// </summary>
/// <remarks>
/// The token of an ordinary id has Text = the characters that id completed and [Start, End) = their UTF-16 span in
/// <see cref="Text"/> (the continuation alone, not the prompt). Spaces are kept as they are: a SentencePiece "▁world"
/// after a prompt gives " world". A byte-level id that holds only the first bytes of a multi-byte character completes
/// no character: its token has Text "" and an empty span (Start = End = the current length); the id that completes the
/// character carries the whole character. Bytes that can never form a character become U+FFFD. A special id gives a
/// token with IsSpecial, its vocabulary text and Start = End = -1, and adds nothing to <see cref="Text"/>.
/// </remarks>
internal sealed class ContinuationDecoder
{
    private readonly Func<int, bool, byte[]?> _pieceBytes;
    private readonly Func<int, string> _specialText;
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly StringBuilder _text = new();
    private bool _first = true;

    /// <param name="pieceBytes">The UTF-8 bytes an id adds (the flag says whether it is the first ordinary id); null for a special id.</param>
    /// <param name="specialText">The text shown for a special id.</param>
    internal ContinuationDecoder(Func<int, bool, byte[]?> pieceBytes, Func<int, string> specialText)
    {
        _pieceBytes = pieceBytes;
        _specialText = specialText;
    }

    /// <summary>The continuation decoded so far (bytes of an unfinished character are held back).</summary>
    public string Text => _text.ToString();

    /// <summary>Decodes one more id and returns its token.</summary>
    public CaptureToken Append(int id)
    {
        var bytes = _pieceBytes(id, _first);
        if (bytes is null) return new CaptureToken(_specialText(id), id, -1, -1, Segment.A, true);
        _first = false;
        int start = _text.Length;
        var chars = new char[_utf8.GetCharCount(bytes, 0, bytes.Length, flush: false)];
        _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
        _text.Append(chars);
        return new CaptureToken(new string(chars), id, start, _text.Length, Segment.A, false);
    }

    /// <summary>Ends the continuation: bytes of a character never completed become U+FFFD. Returns the final text.</summary>
    public string Finish()
    {
        var chars = new char[_utf8.GetCharCount([], 0, 0, flush: true)];
        _utf8.GetChars([], 0, 0, chars, 0, flush: true);
        _text.Append(chars);
        return Text;
    }
}
