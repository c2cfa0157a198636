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
    private int _disposed;

    /// <summary>The first byte of the file.</summary>
    public byte* Pointer { get; }
    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    private MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, byte* pointer, long length)
    {
        _map = map; _view = view; Pointer = pointer; Length = length;
    }

    /// <summary>Maps <paramref name="path"/> (<paramref name="length"/> bytes, at least 1) for reading.</summary>
    public static MappedFile Open(string path, long length)
    {
        MemoryMappedFile? map = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new MappedFile(map, view, p + view.PointerOffset, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            map?.Dispose();
            throw new AttnScopeException($"cannot map '{path}' into memory: {e.Message}");
        }
    }

    /// <summary>Maps the file open in <paramref name="stream"/> (at least 1 byte) for reading; the mapping owns the stream.</summary>
    public static MappedFile Open(FileStream stream, string name)
    {
        MemoryMappedFile? map = null;
        try
        {
            long length = stream.Length;
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new MappedFile(map, view, p + view.PointerOffset, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            map?.Dispose();
            stream.Dispose();
            throw new AttnScopeException($"cannot map '{name}' into memory: {e.Message}");
        }
    }

    /// <summary>Unmaps the file; spans taken from it must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
