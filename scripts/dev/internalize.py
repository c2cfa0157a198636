#!/usr/bin/python3
"""Keep AttnScope's public C# surface to the library facade (docs/library.md, "Public API").

Every top-level `public` type declaration (class, struct, record, record struct, enum, interface, delegate, with
any modifiers) in src/**/*.cs whose full name is not in PUBLIC_API below is rewritten to `internal`. The other
assemblies still see these types through the one InternalsVisibleTo list in src/Directory.Build.props.

    /usr/bin/python3 scripts/dev/internalize.py           rewrite (idempotent: a second run changes nothing)
    /usr/bin/python3 scripts/dev/internalize.py --check   exit 1 and list every public type not in PUBLIC_API
    /usr/bin/python3 scripts/dev/internalize.py --list    print every public type (full name, file:line)
    --root DIR                                            the repository root (default: this script's ../..)

Top-level means a declaration that starts at column 0 of a file with a file-scoped namespace (`namespace X;`), the
house style. A file with a block namespace (`namespace X {`) is not rewritten: it is reported, and --check fails on
it, so it gets looked at by hand. Nested types are left alone: inside an internal type they are not public API.
Standard library only.
"""

import argparse
import os
import re
import sys

# The public API: the facade (AttnScope.Library), the capture data model it returns and takes, the result and option
# types in its signatures, and the exception it throws. docs/library.md's "Public API" table lists the same names and
# PublicApiTests checks that the assemblies export exactly those.
PUBLIC_API = {
    # AttnScope.Library: the facade.
    "AttnScope.AttnModel",
    "AttnScope.Analyze",
    "AttnScope.Render",
    "AttnScope.OfflineViewer",
    # AttnScope.Capture: the capture data model.
    "AttnScope.Capture.AttnScopeException",
    "AttnScope.Capture.AttentionCapture",
    "AttnScope.Capture.AttentionStack",
    "AttnScope.Capture.CaptureAnalysis",
    "AttnScope.Capture.CaptureMetadata",
    "AttnScope.Capture.CaptureToken",
    "AttnScope.Capture.FloatTensor",
    "AttnScope.Capture.Segment",
    # AttnScope.Analyses: results and options in the facade's signatures.
    "AttnScope.Analyses.Results.FlowResult",
    "AttnScope.Analyses.Results.HeadFusion",
    "AttnScope.Analyses.Results.RolloutResult",
}

MODIFIERS = r"(?:(?:sealed|static|abstract|readonly|partial|unsafe|ref|new)\s+)*"
# `public [modifiers] (class|struct|interface|enum|record [class|struct]) Name` at column 0.
TYPE_DECL = re.compile(
    r"^public(\s+)" + MODIFIERS +
    r"(?:record\s+(?:class\s+|struct\s+)?|class\s+|struct\s+|interface\s+|enum\s+)"
    r"(?P<name>@?[A-Za-z_][A-Za-z0-9_]*)")
# `public [modifiers] delegate ReturnType Name(` or `Name<`.
DELEGATE_DECL = re.compile(
    r"^public(\s+)" + MODIFIERS + r"delegate\s+.+?\s(?P<name>@?[A-Za-z_][A-Za-z0-9_]*)\s*[<(]")
FILE_NAMESPACE = re.compile(r"^\s*namespace\s+(?P<ns>[A-Za-z_][A-Za-z0-9_.]*)\s*;", re.MULTILINE)
BLOCK_NAMESPACE = re.compile(r"^\s*namespace\s+(?P<ns>[A-Za-z_][A-Za-z0-9_.]*)\s*(\{|$)", re.MULTILINE)
SKIP_DIRS = {"bin", "obj", ".git", "node_modules"}


def source_files(root):
    src = os.path.join(root, "src")
    if not os.path.isdir(src):
        raise SystemExit(f"internalize: no src folder under '{root}'")
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for f in sorted(filenames):
            if f.endswith(".cs"):
                yield os.path.join(dirpath, f)


def public_types(text):
    """(line index, full name) of each top-level public type declaration in a file-scoped-namespace file."""
    m = FILE_NAMESPACE.search(text)
    ns = m.group("ns") if m else ""
    found = []
    for i, line in enumerate(text.split("\n")):
        d = TYPE_DECL.match(line) or DELEGATE_DECL.match(line)
        if d:
            name = d.group("name").lstrip("@")
            found.append((i, f"{ns}.{name}" if ns else name))
    return found


def scan(root):
    """Yields (path, text, [(line index, full name)], block_namespace, bom) for every source file."""
    for path in source_files(root):
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8-sig")
        block = not FILE_NAMESPACE.search(text) and BLOCK_NAMESPACE.search(text) is not None
        yield path, text, public_types(text), block, raw.startswith(b"\xef\xbb\xbf")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="list public types not in the allow-list; exit 1 if any")
    g.add_argument("--list", action="store_true", help="print every public top-level type")
    args = p.parse_args(argv)
    root = os.path.abspath(args.root)

    offenders, blocks, changed = [], [], []
    for path, text, types, block, bom in scan(root):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        if block:
            blocks.append(rel)
            continue
        if args.list:
            for i, name in types:
                print(f"{name}\t{rel}:{i + 1}\t{'public API' if name in PUBLIC_API else 'NOT in the allow-list'}")
            continue
        bad = [(i, name) for i, name in types if name not in PUBLIC_API]
        if not bad:
            continue
        if args.check:
            offenders += [f"{rel}:{i + 1}: {name}" for i, name in bad]
            continue
        lines = text.split("\n")
        for i, name in bad:
            lines[i] = "internal" + lines[i][len("public"):]
            changed.append(f"{rel}:{i + 1}: {name}")
        with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write("\n".join(lines))

    for rel in blocks:
        print(f"internalize: {rel} uses a block namespace; its types are not checked, convert it to a file-scoped "
              f"namespace (namespace X;)", file=sys.stderr)
    if args.list:
        return 1 if blocks else 0
    if args.check:
        for o in offenders:
            print(f"public type not in the public API: {o}")
        if offenders:
            print(f"internalize: {len(offenders)} public type(s) outside the allow-list; run "
                  f"scripts/dev/internalize.py to make them internal, or add them to PUBLIC_API (and to "
                  f"docs/library.md's Public API table)", file=sys.stderr)
        return 1 if offenders or blocks else 0
    for c in changed:
        print(f"internal: {c}")
    print(f"internalize: {len(changed)} type(s) made internal", file=sys.stderr)
    return 1 if blocks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
