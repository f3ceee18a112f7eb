"""Edit the text of secrets.toml one value at a time, keeping every other byte.

A changed value is replaced in place; a new key is written as one
line (or one new table) next to its siblings, in the style the file already
uses: under a ``[table]`` header, as a dotted key, or inside an inline
table. Every edit is checked by parsing the result with both tomllib and
tomlkit (the parser dlt uses) and comparing it with the intended data; an
edit that would change anything else raises SecretsLayoutError and leaves
the text as it was.
"""

import copy
import re
import tomllib
from datetime import date, datetime, time
from typing import Any

import tomlkit
import tomlkit.exceptions

from credentials.exceptions import InvalidSecretPath, MalformedSecretsFile, SecretNotFound, SecretsLayoutError
from credentials.paths import InvalidPath, Path, format_key_segment, format_path, parse_path
from credentials.toml_scan import Entry, Layout, Statement, scan

TomlValue = str | int | float | bool | datetime | date | time | list

_TOMLLIB_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOMLKIT_POSITION = re.compile(r"\s*at line (\d+) col (\d+)\s*$")


def decode_text(data: bytes, filename: str) -> str:
    """Decode the file's bytes as UTF-8, naming the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise MalformedSecretsFile(filename, line, column, "the file is not UTF-8 text") from None


def parse_toml(text: str, filename: str) -> dict[str, Any]:
    """Parse ``text`` and return its data; raise MalformedSecretsFile with the line and column.

    Both tomllib (strict TOML 1.0) and tomlkit (used by dlt to read the file)
    must accept it, so that what Dango writes is what dlt reads.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOMLLIB_POSITION.search(message)
        if match:
            reason = message[: match.start()]
            raise MalformedSecretsFile(filename, int(match[1]), int(match[2]), reason) from None
        raise MalformedSecretsFile(filename, None, None, message) from None
    try:
        tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as error:
        reason = _TOMLKIT_POSITION.sub("", str(error))
        raise MalformedSecretsFile(filename, error.line, error.col, reason) from None
    except tomlkit.exceptions.TOMLKitError as error:
        raise MalformedSecretsFile(filename, None, None, f"tomlkit rejects it: {error}") from None
    return data


def as_path(path: "str | Path") -> Path:
    if isinstance(path, tuple):
        if not path or not all(isinstance(segment, str) and segment for segment in path):
            raise InvalidSecretPath(f"{path!r} is not a path; use non-empty strings as segments.")
        return path
    try:
        return parse_path(path)
    except InvalidPath as error:
        raise InvalidSecretPath(f"The path {path!r} is invalid: {error}.") from None


def render_value(value: TomlValue) -> str:
    """Write ``value`` as a one-line TOML value (strings as basic strings, escaped)."""
    if not isinstance(value, (str, int, float, bool, datetime, date, time, list)):
        raise TypeError(f"Cannot store a {type(value).__name__} in secrets.toml; use a string, number or list.")
    rendered = tomlkit.item(value).as_string()
    if "\n" in rendered:
        raise TypeError("The value does not fit on one TOML line.")
    return rendered


def _detect_newline(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _prune_empty_tables(data: Any) -> Any:
    # An emptied table may stay in the text as a bare header, or vanish when
    # nothing defined it; both read the same to dlt.
    if isinstance(data, dict):
        pruned = {key: _prune_empty_tables(value) for key, value in data.items()}
        return {key: value for key, value in pruned.items() if value != {}}
    return data


def _indentation(text: str, statement: Statement) -> str:
    line = text[statement.start : statement.content_end]
    return line[: len(line) - len(line.lstrip(" \t"))]


class SecretsDocument:
    """The text of one secrets.toml with path-based get, set and delete."""

    def __init__(self, text: str, filename: str = "secrets.toml"):
        self.filename = filename
        self.data = parse_toml(text, filename)
        self.text = text
        self.newline = _detect_newline(text)

    def lookup(self, path: "str | Path") -> Any:
        """Return the value at ``path``; raise SecretNotFound or InvalidSecretPath."""
        path = as_path(path)
        node: Any = self.data
        for index, segment in enumerate(path):
            self._check_container(node, path, index)
            if segment not in node:
                raise SecretNotFound(format_path(path))
            node = node[segment]
        return node

    def _check_container(self, node: Any, path: Path, index: int) -> None:
        if isinstance(node, dict):
            return
        where = format_path(path[:index])
        if isinstance(node, list):
            raise InvalidSecretPath(f"{where} is an array; a path cannot lead into an array. Edit it by hand.")
        raise InvalidSecretPath(
            f"{where} is a value, not a table, so it cannot contain {format_key_segment(path[index])}."
        )

    def set(self, path: "str | Path", value: TomlValue) -> bool:
        """Store ``value`` at ``path``; return True when the key is new."""
        path = as_path(path)
        rendered = render_value(value)
        expected = copy.deepcopy(self.data)

        node: Any = expected
        existing_depth = len(path)
        for index, segment in enumerate(path):
            self._check_container(node, path, index)
            if segment not in node:
                existing_depth = index
                break
            node = node[segment]
        else:
            if isinstance(node, dict):
                raise InvalidSecretPath(f"{format_path(path)} is a table; name a key inside it.")
            if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
                raise InvalidSecretPath(f"{format_path(path)} is an array of tables; edit it by hand.")

        parent = expected
        for segment in path[:-1]:
            parent = parent.setdefault(segment, {})
        parent[path[-1]] = value

        layout = scan(self.text)
        if existing_depth == len(path):
            new_text = self._replace_value(layout, path, rendered)
        else:
            new_text = self._insert(layout, path[:existing_depth], path, rendered)
        self._commit(new_text, expected, path)
        return existing_depth < len(path)

    def delete(self, path: "str | Path") -> None:
        """Remove the value or table at ``path`` with everything under it."""
        path = as_path(path)
        self.lookup(path)
        expected = copy.deepcopy(self.data)
        parent = expected
        for segment in path[:-1]:
            parent = parent[segment]
        del parent[path[-1]]

        text = self.text
        # One removal per pass, re-scanning in between, so offsets never go
        # stale when a table is spread over several sections or inline tables.
        for _ in range(len(text) + 1):
            removed = self._remove_one(text, scan(text), path)
            if removed is None:
                break
            text = removed
        self._commit(text, expected, path)

    def _commit(self, new_text: str, expected: dict, path: Path) -> None:
        try:
            new_data = tomllib.loads(new_text)
            tomlkit.parse(new_text)
        except (tomllib.TOMLDecodeError, tomlkit.exceptions.TOMLKitError):
            new_data = None
        if new_data is None or _prune_empty_tables(new_data) != _prune_empty_tables(expected):
            raise SecretsLayoutError(
                f"Cannot change {format_path(path)} without altering other parts of {self.filename}; "
                "nothing was written. Make this change by hand."
            )
        self.text = new_text
        self.data = new_data

    # Changing a value

    def _replace_value(self, layout: Layout, path: Path, rendered: str) -> str:
        for entry in layout.entries:
            if entry.path == path and not entry.in_array_table:
                return self.text[: entry.value_start] + rendered + self.text[entry.value_end :]
        raise SecretsLayoutError(
            f"{format_path(path)} is defined in a way Dango cannot edit (inside an array of tables); "
            "change it by hand."
        )

    # Adding a key

    def _insert(self, layout: Layout, table: Path, path: Path, rendered: str) -> str:
        inline = self._innermost_inline_table(layout, table)
        if inline is not None:
            return self._insert_into_inline_table(inline, path[len(inline.path) :], rendered)

        header = next((s for s in layout.statements if s.kind == "table" and s.path == table), None)
        rest = path[len(table) :]
        if header is not None and len(rest) == 1:
            anchor = self._last_content_statement(layout, header)
            return self._insert_line(anchor, format_key_segment(rest[0]), rendered)

        # A table made by dotted keys (``stripe.api_key = ...``) grows by one
        # more dotted key in the same section, after its last sibling.
        dotted = [
            s
            for s in layout.statements
            if s.kind == "keyvalue" and s.path[: len(table)] == table and len(s.section) < len(table)
        ]
        if table and dotted:
            anchor = dotted[-1]
            return self._insert_line(anchor, format_path(path[len(anchor.section) :]), rendered)

        headers = layout.headers()
        root_keyvalues = [s for s in layout.statements if s.kind == "keyvalue" and not s.section]
        if not table and root_keyvalues and (len(path) == 1 or not headers):
            return self._insert_line(root_keyvalues[-1], format_path(path), rendered)
        if len(path) == 1:
            # A new top-level key must precede the first header.
            line = f"{format_key_segment(path[0])} = {rendered}{self.newline}"
            position = headers[0].start if headers else len(self.text)
            separator = self.newline if headers else ""
            return self._insert_text(position, line + separator)
        return self._insert_table(layout, table, path[:-1], path[-1], rendered)

    def _innermost_inline_table(self, layout: Layout, table: Path) -> Entry | None:
        candidates = [
            entry
            for entry in layout.entries
            if entry.value_kind == "inline_table" and entry.path == table[: len(entry.path)]
        ]
        return max(candidates, key=lambda entry: len(entry.path), default=None)

    def _insert_into_inline_table(self, inline: Entry, key: Path, rendered: str) -> str:
        pair = f"{format_path(key)} = {rendered}"
        if inline.members:
            position = inline.members[-1].value_end
            return self.text[:position] + ", " + pair + self.text[position:]
        return self.text[: inline.open_brace + 1] + f" {pair} " + self.text[inline.close_brace :]

    def _section(self, layout: Layout, header: Statement) -> list[Statement]:
        statements = layout.statements
        start = statements.index(header)
        section = [header]
        for statement in statements[start + 1 :]:
            if statement.kind in ("table", "array_table"):
                break
            section.append(statement)
        return section

    def _last_content_statement(self, layout: Layout, header: Statement) -> Statement:
        section = self._section(layout, header)
        return next(s for s in reversed(section) if s.kind in ("keyvalue", "table", "array_table"))

    def _insert_text(self, position: int, addition: str) -> str:
        if position == len(self.text) and self.text and not self.text.endswith("\n"):
            addition = self.newline + addition
        return self.text[:position] + addition + self.text[position:]

    def _insert_line(self, anchor: Statement, key: str, rendered: str) -> str:
        indentation = _indentation(self.text, anchor) if anchor.kind == "keyvalue" else ""
        return self._insert_text(anchor.end, f"{indentation}{key} = {rendered}{self.newline}")

    def _insert_table(self, layout: Layout, table: Path, header_path: Path, key: str, rendered: str) -> str:
        newline = self.newline
        block = f"[{format_path(header_path)}]{newline}{format_key_segment(key)} = {rendered}{newline}"
        family = [s for s in layout.headers() if table and s.path[: len(table)] == table]
        if family:
            anchor = self._last_content_statement(layout, family[-1])
            return self._insert_text(anchor.end, newline + block)
        if not self.text.strip():
            return self.text + block
        text = self.text if self.text.endswith("\n") else self.text + newline
        if not text.endswith(newline + newline):
            text += newline
        return text + block

    # Removing a key or table

    def _remove_one(self, text: str, layout: Layout, path: Path) -> str | None:
        def under(candidate: Path) -> bool:
            return candidate[: len(path)] == path

        statements = layout.statements
        for index, statement in enumerate(statements):
            if statement.kind in ("table", "array_table") and under(statement.path):
                return self._remove_section(text, layout, index)
        for statement in statements:
            if statement.kind == "keyvalue" and under(statement.path):
                return text[: statement.start] + text[statement.end :]
        for entry in layout.entries:
            if entry.inline_table is not None and under(entry.path):
                return self._remove_member(text, entry)
        return None

    def _remove_section(self, text: str, layout: Layout, header_index: int) -> str:
        statements = layout.statements
        header = statements[header_index]
        end_index = statements.index(self._last_content_statement(layout, header)) + 1
        # Blank lines after the section go with it; comments stay, because
        # they usually introduce the next section.
        while end_index < len(statements) and statements[end_index].kind == "blank":
            end_index += 1
        start_index = header_index
        if end_index == len(statements):
            # The last section also takes the blank lines that led up to it.
            while start_index > 0 and statements[start_index - 1].kind == "blank":
                start_index -= 1
        return text[: statements[start_index].start] + text[statements[end_index - 1].end :]

    def _remove_member(self, text: str, member: Entry) -> str:
        members = member.inline_table.members
        index = members.index(member)
        if index + 1 < len(members):
            return text[: member.key_start] + text[members[index + 1].key_start :]
        if index > 0:
            return text[: members[index - 1].value_end] + text[member.value_end :]
        inline = member.inline_table
        return text[: inline.open_brace + 1] + text[inline.close_brace :]
