"""Errors raised for bad user input (data files, scenarios, configuration).

Every problem with a file a person wrote or edited is reported as a
:class:`HatinhInputError`, which names the file, the line (as a person counts
it, the header being line 1), and the column or key. The command-line
interface catches it, prints its one-line message and exits with status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

__all__ = [
    "HatinhInputError",
    "MAX_SEED",
    "check_seed",
    "check_unique",
    "did_you_mean",
    "display_path",
    "parse_yaml",
    "read_text",
    "separator_hint",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "NAME_PATTERN",
    "check_name",
    "line_of",
    "validate",
    "validation_error",
    "read_yaml",
    "short_repr",
]

#: What a name that becomes a file or folder name may be (scenarios, configurations).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def did_you_mean(name: object, candidates: Iterable[object], cutoff: float = 0.5) -> str:
    """``"; did you mean 'a', 'b'?"`` for up to three of ``candidates`` close to ``name``
    (:func:`difflib.get_close_matches`), else ``""``: the tail of an "unknown name" message.

    >>> did_you_mean("labour exprt", ["labour export", "land price", "mechanisation rate"])
    "; did you mean 'labour export'?"
    >>> did_you_mean("zzz", ["labour export"])
    ''
    """
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=3, cutoff=cutoff)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def display_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as a person would like to read it in a message.

    Parameters
    ----------
    path : str or os.PathLike
        Any file path.

    Returns
    -------
    str
        The path relative to the current working directory when the file lies
        under it (``model/data/observed.csv``), otherwise the path as given,
        with forward slashes.
    """
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return p.as_posix()


class HatinhInputError(Exception):
    """A problem with an input file or setting, described in one line.

    Parameters
    ----------
    message : str
        What is wrong, in words that make sense without a traceback
        (``"'abc' is not a number"``).
    path : str or os.PathLike, optional
        The file at fault.
    line : int, optional
        The 1-based line number in that file, the header being line 1.
    column : str, optional
        The column (CSV files) at fault.
    key : str, optional
        The key (YAML/settings, dotted path such as ``levers.fdi_multiplier``)
        at fault, or the name of an environment variable.

    Attributes
    ----------
    message, path, line, column, key
        As given; ``path`` is kept as a :class:`pathlib.Path` (or ``None``).

    Examples
    --------
    >>> str(
    ...     HatinhInputError(
    ...         "'abc' is not a number", path="model/data/observed.csv", line=12, column="value"
    ...     )
    ... )
    "model/data/observed.csv, line 12, column 'value': 'abc' is not a number"
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.key = key
        super().__init__(str(self))

    def location(self) -> str:
        """Return the location part of the message (file, line, column/key).

        Returns
        -------
        str
            For example ``"model/data/observed.csv, line 12, column 'value'"``;
            an empty string when nothing is known about the location.
        """
        parts: list[str] = []
        if self.path is not None:
            parts.append(display_path(self.path))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the error picklable (multiprocessing, pytest-xdist) despite the
        # keyword-only constructor.
        return (
            _rebuild,
            (self.message, self.path, self.line, self.column, self.key),
        )


def _rebuild(
    message: str,
    path: Path | None,
    line: int | None,
    column: str | None,
    key: str | None,
) -> HatinhInputError:
    return HatinhInputError(message, path=path, line=line, column=column, key=key)


#: Largest YAML file a person is expected to write (bytes).
MAX_YAML_BYTES = 1_000_000
#: Largest number of YAML nodes after aliases are expanded (an alias bomb of
#: a few hundred bytes expands to billions).
MAX_YAML_NODES = 200_000
#: Deepest nesting of YAML mappings and lists (our files need fewer than ten levels;
#: thousands of nested brackets would exhaust Python's recursion limit).
MAX_YAML_DEPTH = 50

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
#: Numbers YAML 1.1 (PyYAML) reads differently from how people mean them: 010 is 8,
#: 0x10 is 16, 0b10 is 2, 1:30 is 90 (base 60) and 1_0 is 10.
_SURPRISING_NUMBER = re.compile(r"[-+]?(0[0-9_]+|0[xXoObB].*|.*[:_].*)")


#: Largest random seed (what NumPy, SALib and the netCDF attribute that records it all take).
MAX_SEED = 2**32 - 1


def check_seed(seed: int, key: str = "--seed") -> None:
    """Refuse a random seed outside ``0..MAX_SEED`` (one line naming ``key``)."""
    if not 0 <= seed <= MAX_SEED:
        raise HatinhInputError(
            f"a seed is a whole number from 0 to {MAX_SEED:,}, not {short_repr(seed, 27)}",
            key=key,
        )


def check_unique(names: Iterable[str], key: str) -> None:
    """Refuse a name given twice (two scenarios that are one, say), naming ``key``."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise HatinhInputError(f"'{name}' is given twice", key=key)
        seen.add(name)


def check_name(
    name: str,
    *,
    what: str = "name",
    path: str | os.PathLike[str] | None = None,
    key: str | None = None,
) -> str:
    """Return ``name`` if it may name an output file or folder (:data:`NAME_PATTERN`).

    Raises
    ------
    HatinhInputError
        Naming ``what`` and the rule: 1-64 ASCII letters, digits, ``_`` or ``-``
        (so no ``.``, ``..``, slash, space or control character).
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise HatinhInputError(
            f"{what} {short_repr(name, 80)} must be 1-64 letters (A-Z, a-z), digits, '_' or '-'"
            " (it names an output folder)",
            path=path,
            key=key,
        )
    return name


def short_repr(value: object, limit: int = 200) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def separator_hint(header: str | Iterable[str]) -> str:
    """``"; it looks separated by ';' ..."`` when a CSV header has no comma but a semicolon or
    a tab (a spreadsheet saved with another list separator), else ``""``.

    >>> separator_hint("indicator;year;value")
    "; the file looks separated by ';': save it as CSV with commas"
    >>> separator_hint(["indicator", "year"])
    ''
    """
    line = header if isinstance(header, str) else ",".join(header)
    for sep, name in ((";", "';'"), ("\t", "tabs")):
        if sep in line and "," not in line:
            return f"; the file looks separated by {name}: save it as CSV with commas"
    return ""


def read_text(path: str | os.PathLike[str], *, missing: str = "file not found") -> str:
    """Read a UTF-8 text file a person edits; any problem is a :class:`HatinhInputError`.

    A missing file, a folder, an unreadable file and bytes that are not UTF-8
    (with the line of the first bad byte) are each named in one line.
    """
    p = Path(path)
    if not p.exists():
        raise HatinhInputError(missing, path=p)
    if p.is_dir():
        raise HatinhInputError("is a folder, not a file", path=p)
    if not p.is_file():
        raise HatinhInputError("is not a regular file (a device or a pipe?)", path=p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise HatinhInputError(f"cannot be read ({exc.strerror})", path=p) from None
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark (Excel, our own CSVs) is not text
    except UnicodeDecodeError as exc:
        raise HatinhInputError(
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            path=p,
            line=raw[: exc.start].count(b"\n") + 1,
        ) from None


def _check_yaml_tree(node: yaml.Node, path: Path) -> None:
    """Refuse duplicate keys, recursive aliases and documents too large once expanded."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node, depth: int = 0) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        line = n.start_mark.line + 1
        if key in active:
            raise HatinhInputError("a YAML alias refers to itself", path=path, line=line)
        if depth > MAX_YAML_DEPTH:
            raise HatinhInputError(
                f"mappings and lists nested more than {MAX_YAML_DEPTH} levels deep",
                path=path,
                line=line,
            )
        if isinstance(n, yaml.ScalarNode):
            _check_number(n, path)
        active.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    line = k.start_mark.line + 1
                    if k.value in seen:
                        raise HatinhInputError(
                            f"key '{k.value}' appears twice (first on line {seen[k.value]})",
                            path=path,
                            line=line,
                            key=str(k.value),
                        )
                    seen[k.value] = line
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for v in n.value:
                total += size(v, depth + 1)
                if total > MAX_YAML_NODES:
                    break
        if total > MAX_YAML_NODES:
            raise HatinhInputError(
                f"more than {MAX_YAML_NODES:,} elements once aliases (*) are expanded",
                path=path,
                line=n.start_mark.line + 1,
            )
        active.discard(key)
        sizes[key] = total
        return total

    size(node)


def _check_number(n: yaml.ScalarNode, path: Path) -> None:
    """Refuse a plain number YAML 1.1 reads unlike what it shows (``010`` is 8, ``1:30``
    is 90) and an integer too long for Python to convert."""
    import sys

    if n.tag not in (_INT_TAG, _FLOAT_TAG) or n.style is not None:
        return
    line = n.start_mark.line + 1
    digits = sum(c.isdigit() for c in n.value)
    if n.tag == _INT_TAG and digits > sys.get_int_max_str_digits():
        raise HatinhInputError(
            f"a number of {digits:,} digits; numbers may have at most "
            f"{sys.get_int_max_str_digits():,}",
            path=path,
            line=line,
        )
    if _SURPRISING_NUMBER.fullmatch(n.value) and n.value.lstrip("+-") not in ("0", "0.0"):
        raise HatinhInputError(
            f"{short_repr(n.value, 24)} is not a plain number: YAML 1.1 reads a leading 0, 0x, 0o or 0b, "
            "':' and '_' as another base or a separator; write it as digits such as 10 or 2.5",
            path=path,
            line=line,
        )


def parse_yaml(path: str | os.PathLike[str], *, missing: str = "file not found") -> tuple[Any, Any]:
    """Parse a YAML file a person edits: the data and the node tree (for line numbers).

    Safe YAML only; a file over :data:`MAX_YAML_BYTES`, a key given twice in a
    mapping, an alias that expands beyond :data:`MAX_YAML_NODES` elements, nesting
    deeper than :data:`MAX_YAML_DEPTH`, a number YAML 1.1 reads unlike what it
    shows (``010``, ``0x10``, ``1:30``, ``1_0``) or too long to convert, a character
    YAML does not allow, text that is not UTF-8, a folder or device, or malformed
    YAML is a :class:`HatinhInputError` naming the file and line. Both are ``None``
    for an empty document.
    """
    import yaml

    p = Path(path)
    if p.exists() and p.is_file() and p.stat().st_size > MAX_YAML_BYTES:
        raise HatinhInputError(
            f"is {p.stat().st_size:,} bytes; a YAML input may be at most {MAX_YAML_BYTES:,}",
            path=p,
        )
    text = read_text(p, missing=missing)
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # refuses unprintable characters at once
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_yaml_tree(node, p)
        return loader.construct_document(node), node
    except RecursionError:
        raise HatinhInputError(
            f"mappings and lists nested more than {MAX_YAML_DEPTH} levels deep", path=p
        ) from None
    except yaml.reader.ReaderError as exc:
        raise HatinhInputError(
            f"character U+{exc.character:04X} is not allowed in YAML text"
            if isinstance(exc.character, int)
            else f"character {exc.character!r} is not allowed in YAML text",
            path=p,
            line=text[: exc.position].count("\n") + 1,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HatinhInputError(
            f"malformed YAML: {getattr(exc, 'problem', None) or exc}",
            path=p,
            line=mark.line + 1 if mark else None,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: str | os.PathLike[str], *, missing: str = "file not found") -> object:
    """Parse a YAML file a person edits (:func:`parse_yaml`); return the data only."""
    return parse_yaml(path, missing=missing)[0]


def line_of(node: Any, keys: tuple[Any, ...]) -> int | None:
    """1-based line of the key path ``keys`` in a composed YAML tree (:func:`parse_yaml`)."""
    import yaml

    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def validation_error(
    exc: Any,
    path: str | os.PathLike[str],
    node: Any,
    *,
    err: Mapping[str, Any] | None = None,
    hint: str = "",
) -> HatinhInputError:
    """A pydantic ``ValidationError`` (its first error, or ``err``) as one line.

    The line names the file, the line of the key in the YAML (``node`` from
    :func:`parse_yaml`) and the dotted key; an unknown key gets the closest
    allowed names, a missing key is named, the input is shown in at most
    200 characters. Union-branch labels of pydantic's locations are dropped.
    """
    import difflib

    if err is None:  # an unknown key first: it is often the misspelling of a missing one
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err["loc"])
    if err["type"] == "missing":
        keys = (*_document_keys(node, loc[:-1]), loc[-1])
    else:
        keys = _document_keys(node, loc)
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = sorted(_allowed_keys(exc, keys[:-1]))
        close = difflib.get_close_matches(str(keys[-1]), allowed, n=1)
        msg = f"unknown key '{keys[-1]}'" + (f"; did you mean '{close[0]}'?" if close else "")
        if allowed:
            msg += f" (allowed: {', '.join(allowed)})"
    elif err["type"] == "missing":
        msg = f"missing key '{keys[-1]}'"
    elif "input" in err and not isinstance(err["input"], (dict, list)):
        if f"not {err['input']}" not in msg:  # a validator's message may name it already
            msg = f"{msg}, not {short_repr(err['input'], 80)}"
    return HatinhInputError(
        msg + hint,
        path=path,
        line=line_of(node, keys),
        key=".".join(str(k) for k in keys) or None,
    )


def _document_keys(node: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The components of a pydantic location that are keys or indices of the YAML document.

    Pydantic adds the tags of union members (``float``, ``Step``, ``list[str]``...)
    to a location; they are not in the document and are dropped.
    """
    import yaml

    keys: list[Any] = []
    for k in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for key, v in node.value if str(key.value) == str(k)), None)
            if match is not None:
                keys.append(k)
                node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(k, int) and k < len(node.value):
            keys.append(k)
            node = node.value[k]
        elif node is None and not (isinstance(k, str) and ("[" in k or k[:1].isupper())):
            keys.append(k)  # no document to check against (validated from code)
    return tuple(keys)


def _allowed_keys(exc: Any, parent: tuple[Any, ...]) -> set[str]:
    """Field names (aliases) of the model at ``parent`` in the failed validation."""
    model: Any = getattr(exc, "_hatinh_model", None)
    if model is None:
        return set()
    for key in parent:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(str(key))
        ann = getattr(field, "annotation", None)
        inner = [a for a in getattr(ann, "__args__", (ann,)) if hasattr(a, "model_fields")]
        if not inner:
            return set()
        model = inner[0]
    return {f.alias or n for n, f in model.model_fields.items()}


def validate(model: Any, data: object, path: str | os.PathLike[str], node: Any) -> Any:
    """``model.model_validate(data)``; a failure is one line (:func:`validation_error`)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        exc._hatinh_model = model  # type: ignore[attr-defined]  # for "allowed" keys
        raise validation_error(exc, path, node) from None
