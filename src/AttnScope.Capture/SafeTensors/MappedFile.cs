using System.IO.MemoryMappedFiles;

namespace AttnScope.Capture.SafeTensors;

/// <summary>
/// A whole file mapped read-only into memory; pages are read from disk when first touched. The mapping lives as
/// long as this object (or until <see cref="Dispose"/>); the file may be renamed or deleted meanwhile.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly FileStream _stream;
    private int _disposed;

    /// <summary>The first byte of the file.</summary>
    public byte* Pointer { get; }
    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    private MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, FileStream stream, byte* pointer, long length)
    {
        _map = map; _view = view; _stream = stream; Pointer = pointer; Length = length;
    }

    /// <summary>Maps <paramref name="path"/> (<paramref name="length"/> bytes, at least 1) for reading.</summary>
    public static MappedFile Open(string path, long length)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttnScopeException($"cannot map '{path}' into memory: {e.Message}");
        }
        return Open(stream, path);
    }

    /// <summary>Maps the file open in <paramref name="stream"/> (at least 1 byte) for reading; the mapping owns the stream.</summary>
    public static MappedFile Open(FileStream stream, string name)
    {
        MemoryMappedFile? map = null;
        try
        {
            long length = stream.Length;
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new MappedFile(map, view, stream, p + view.PointerOffset, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            map?.Dispose();
            stream.Dispose();
            throw new AttnScopeException($"cannot map '{name}' into memory: {e.Message}");
        }
    }

    /// <summary>
    /// Copies <paramref name="destination"/>.Length bytes from byte <paramref name="offset"/> of the file through the
    /// file handle. For a large block read once (a whole tensor) this spares the page fault that copying from the
    /// mapping takes on every 4 KiB page; the bytes are the same.
    /// </summary>
    /// <exception cref="AttnScopeException">The file is shorter than when it was opened.</exception>
    public void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > Length - destination.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + destination.Length} are outside the file ({Length} bytes)");
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(_stream.SafeFileHandle, destination, offset);
            if (n <= 0)
                throw new AttnScopeException($"the file ended at byte {offset} while it was read (it was {Length} bytes when opened): was it changed meanwhile?");
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Unmaps the file; spans taken from it must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _stream.Dispose();
    }
}
