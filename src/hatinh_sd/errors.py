"""Errors raised for bad user input (data files, scenarios, configuration).

Every problem with a file a person wrote or edited is reported as a
:class:`HatinhInputError`, which names the file, the line (as a person counts
it, the header being line 1), and the column or key. The command-line
interface catches it, prints its one-line message and exits with status 2.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["HatinhInputError", "display_path", "read_yaml"]


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


def read_yaml(path: str | os.PathLike[str], *, missing: str = "file not found") -> object:
    """Parse a YAML file a person edits; any problem is a :class:`HatinhInputError`.

    A missing file and malformed YAML (with the line yaml reports) are named
    in one line; the document itself is returned as parsed (``None`` when empty).
    """
    import yaml

    p = Path(path)
    if not p.exists():
        raise HatinhInputError(missing, path=p)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HatinhInputError(
            f"malformed YAML: {getattr(exc, 'problem', None) or exc}",
            path=p,
            line=mark.line + 1 if mark else None,
        ) from None
