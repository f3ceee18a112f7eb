"""Locate every statement and key/value of a TOML text by character offset.

tomlkit keeps a file's formatting but decides on its own where a new key
goes, and in files that use dotted keys or out-of-order tables it can put
one in the wrong table. The editor in ``credentials.document`` therefore
edits the text itself, and this module finds where each header, key and
value starts and ends.

The scanner expects text that a TOML parser has already accepted: it finds
boundaries and does not validate. Entries inside inline tables are listed
too, so a value nested in ``{ ... }`` can be replaced in place; arrays are
skipped as a whole.
"""

from dataclasses import dataclass, field

from credentials.paths import Path, read_key

_WHITESPACE = " \t"


@dataclass(eq=False)
class Entry:
    """A key/value pair: a top-level line or a member of an inline table.

    ``path`` is the full path from the document root, ``key`` the key as
    written (relative to its table or inline table). ``inline_table`` is the
    entry whose inline-table value contains this one, or None.
    """

    path: Path
    key: Path
    key_start: int
    value_start: int
    value_end: int
    value_kind: str  # "string", "array", "inline_table" or "other"
    inline_table: "Entry | None" = None
    in_array_table: bool = False
    # For entries whose value is an inline table: its direct members, and the
    # offsets of the braces.
    members: list["Entry"] = field(default_factory=list)
    open_brace: int = -1
    close_brace: int = -1


@dataclass(eq=False)
class Statement:
    """One top-level statement, from the start of its line to after its line break.

    ``kind`` is "blank", "comment", "table" (``[a.b]``), "array_table"
    (``[[a.b]]``) or "keyvalue". ``path`` is the header path of a table and
    the full path of a key/value. ``section`` is the header path in force.
    """

    kind: str
    start: int
    end: int
    content_end: int
    path: Path = ()
    section: Path = ()
    entry: Entry | None = None
    in_array_table: bool = False


@dataclass
class Layout:
    statements: list[Statement]
    entries: list[Entry]

    def headers(self) -> list[Statement]:
        return [s for s in self.statements if s.kind in ("table", "array_table")]


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.entries: list[Entry] = []

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def skip_comment(self) -> None:
        if self.pos < len(self.text) and self.text[self.pos] == "#":
            newline = self.text.find("\n", self.pos)
            self.pos = len(self.text) if newline == -1 else newline
            if self.text[self.pos - 1 : self.pos] == "\r":
                self.pos -= 1

    def at_line_end(self) -> bool:
        return self.pos >= len(self.text) or self.text[self.pos] in "\r\n"

    def finish_line(self) -> tuple[int, int]:
        """Consume the rest of a line (whitespace, comment, line break); return (content_end, end)."""
        self.skip_whitespace()
        self.skip_comment()
        content_end = self.pos
        if self.text.startswith("\r\n", self.pos):
            self.pos += 2
        elif self.text.startswith("\n", self.pos):
            self.pos += 1
        elif self.pos < len(self.text):
            raise ValueError(f"unexpected {self.text[self.pos]!r} at offset {self.pos}; is the text valid TOML?")
        return content_end, self.pos

    def scan(self) -> Layout:
        statements = []
        section: Path = ()
        in_array_table = False
        while self.pos < len(self.text):
            start = self.pos
            self.skip_whitespace()
            char = self.text[self.pos] if self.pos < len(self.text) else "\n"
            if char in "\r\n":
                content_end, end = self.finish_line()
                statements.append(Statement("blank", start, end, content_end, section=section))
            elif char == "#":
                content_end, end = self.finish_line()
                statements.append(Statement("comment", start, end, content_end, section=section))
            elif char == "[":
                kind, section = self.read_header()
                in_array_table = kind == "array_table" or _under_array_table(statements, section)
                content_end, end = self.finish_line()
                statements.append(
                    Statement(kind, start, end, content_end, section, section, in_array_table=in_array_table)
                )
            else:
                entry = self.read_entry(section, None, in_array_table)
                content_end, end = self.finish_line()
                statements.append(
                    Statement(
                        "keyvalue", start, end, content_end, entry.path, section, entry, in_array_table
                    )
                )
        return Layout(statements, self.entries)

    def read_header(self) -> tuple[str, Path]:
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        self.skip_whitespace()
        path, self.pos = read_key(self.text, self.pos)
        self.skip_whitespace()
        self.pos += 2 if is_array else 1
        return ("array_table" if is_array else "table"), path

    def read_entry(self, prefix: Path, inline_table: Entry | None, in_array_table: bool) -> Entry:
        key_start = self.pos
        key, self.pos = read_key(self.text, self.pos)
        self.skip_whitespace()
        if self.pos >= len(self.text) or self.text[self.pos] != "=":
            raise ValueError(f"expected '=' at offset {self.pos}; is the text valid TOML?")
        self.pos += 1
        self.skip_whitespace()
        entry = Entry(prefix + key, key, key_start, self.pos, -1, "other", inline_table, in_array_table)
        self.entries.append(entry)
        self.read_value(entry)
        return entry

    def read_value(self, entry: Entry) -> None:
        text = self.text
        if text.startswith('"""', self.pos) or text.startswith("'''", self.pos):
            entry.value_kind = "string"
            self.pos = _multiline_string_end(text, self.pos)
        elif text[self.pos] in "\"'":
            entry.value_kind = "string"
            self.pos = _string_end(text, self.pos)
        elif text[self.pos] == "[":
            entry.value_kind = "array"
            self.pos = _bracket_end(text, self.pos)
        elif text[self.pos] == "{":
            entry.value_kind = "inline_table"
            self.read_inline_table(entry)
        else:
            # Numbers, booleans and dates; a local date-time may contain one
            # space, so the value runs to the comment or line end.
            end = self.pos
            while end < len(text) and text[end] not in "#,}\r\n":
                end += 1
            while end > self.pos and text[end - 1] in _WHITESPACE:
                end -= 1
            self.pos = end
        entry.value_end = self.pos

    def read_inline_table(self, entry: Entry) -> None:
        entry.open_brace = self.pos
        self.pos += 1
        self.skip_whitespace()
        while self.text[self.pos] != "}":
            member = self.read_entry(entry.path, entry, entry.in_array_table)
            entry.members.append(member)
            self.skip_whitespace()
            if self.text[self.pos] == ",":
                self.pos += 1
                self.skip_whitespace()
        entry.close_brace = self.pos
        self.pos += 1


def _under_array_table(statements: list[Statement], path: Path) -> bool:
    """Tell whether ``path`` lies inside an array of tables declared earlier."""
    return any(s.kind == "array_table" and path[: len(s.path)] == s.path for s in statements)


def _string_end(text: str, pos: int) -> int:
    quote = text[pos]
    index = pos + 1
    while text[index] != quote:
        index += 2 if quote == '"' and text[index] == "\\" else 1
    return index + 1


def _multiline_string_end(text: str, pos: int) -> int:
    delimiter = text[pos : pos + 3]
    index = pos + 3
    while True:
        if delimiter == '"""' and text[index] == "\\":
            index += 2
            continue
        if text.startswith(delimiter, index):
            # Up to two quote characters may sit right before the closing
            # delimiter, so the string ends after the last of the run.
            run_end = index
            while run_end < len(text) and text[run_end] == delimiter[0] and run_end - index < 5:
                run_end += 1
            return run_end
        index += 1


def _bracket_end(text: str, pos: int) -> int:
    """Return the offset after the bracket or brace that closes the one at ``pos``."""
    depth = 0
    index = pos
    while True:
        char = text[index]
        if text.startswith('"""', index) or text.startswith("'''", index):
            index = _multiline_string_end(text, index)
            continue
        if char in "\"'":
            index = _string_end(text, index)
            continue
        if char == "#":
            while index < len(text) and text[index] != "\n":
                index += 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1


def scan(text: str) -> Layout:
    """Return the statements and entries of ``text``, which must be valid TOML."""
    return _Scanner(text).scan()
