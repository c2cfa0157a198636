using System.Runtime.InteropServices;

namespace AttnScope.Capture.Io;

/// <summary>What a path names, as far as writing it is concerned.</summary>
internal enum FileKind
{
    /// <summary>Nothing is there (or a symbolic link that leads nowhere).</summary>
    Absent,
    /// <summary>A regular file (or a link to one): replaced through a temporary file and a rename.</summary>
    Regular,
    /// <summary>A folder (or a link to one).</summary>
    Folder,
    /// <summary>A character device such as <c>/dev/null</c> or a terminal: written straight, never replaced.</summary>
    CharacterDevice,
    /// <summary>A named pipe (FIFO): written straight, never replaced.</summary>
    Pipe,
    /// <summary>A block device, a socket or anything else: refused.</summary>
    Other,
}

/// <summary>
/// Finds the <see cref="FileKind"/> of a path. .NET does not say whether a path is a device, so on Unix this asks the
/// runtime's own native layer (<c>SystemNative_Stat</c> in libSystem.Native, which ships with every .NET runtime and
/// returns the same platform-neutral record on every Unix), following symbolic links as opening the path would.
/// </summary>
internal static partial class FileKinds
{
    private const int TypeMask = 0xF000, Fifo = 0x1000, Char = 0x2000, Dir = 0x4000, Block = 0x6000, Regular = 0x8000;

    /// <summary>The kind of file <paramref name="path"/> names; links are followed.</summary>
    public static FileKind Of(string path)
    {
        if (Directory.Exists(path)) return FileKind.Folder;
        if (!File.Exists(path)) return FileKind.Absent;
        if (OperatingSystem.IsWindows()) return FileKind.Regular;
        int mode;
        try
        {
            // The record is 2 ints, 2 uints and about a dozen longs: 256 bytes leave room for fields added later.
            Span<byte> status = stackalloc byte[256];
            if (Stat(path, ref MemoryMarshal.GetReference(status)) != 0) return FileKind.Regular;
            mode = BitConverter.ToInt32(status[4..8]); // { int32 Flags; int32 Mode; ... }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return FileKind.Regular;
        }
        return (mode & TypeMask) switch
        {
            Regular => FileKind.Regular,
            Dir => FileKind.Folder,
            Char => FileKind.CharacterDevice,
            Fifo => FileKind.Pipe,
            Block => FileKind.Other,
            _ => FileKind.Other,
        };
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, ref byte output);
}
