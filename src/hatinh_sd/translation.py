"""The translation cache: the ``.mdl`` translated by PySD once per content hash.

``model_hash`` keys the cache (and every result file names the model it came from);
``equations_hash`` ignores comments, units and the sketch, so that a calibration goes stale
only when the equations it was fitted to change. ``build_cached`` builds a folder in a
temporary place and renames it into the cache in one step, so that concurrent processes
never see half-written files; the ``translate`` of the model and the exports' builds use it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from hatinh_sd.errors import HatinhInputError, read_text
from hatinh_sd.project import current_project, repo_root

__all__ = [
    "build_cached",
    "cache_dir",
    "equation_line",
    "equations_hash",
    "model_hash",
    "translate",
]


def model_hash(mdl_path: Path | str | None = None) -> str:
    """SHA-256 of the model file's bytes (the cache key of its translation)."""
    path = Path(mdl_path) if mdl_path else current_project().model
    if not path.exists():
        raise HatinhInputError("model file not found", path=path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def equations_hash(mdl_path: Path | str | None = None) -> str:
    """SHA-256 of the model's equations alone: each equation's text before its units, with
    whitespace runs as one space; comments, units, group headers and the sketch do not count.
    A calibration is stale when the equations it was fitted to changed."""
    path = Path(mdl_path) if mdl_path else current_project().model
    if not path.exists():
        raise HatinhInputError("model file not found", path=path)
    text = path.read_text(encoding="utf-8").split("\\\\\\---///", 1)[0]
    text = text.replace("{UTF-8}", "")
    equations = []
    for block in text.split("|"):
        head = " ".join(block.split("~", 1)[0].split())
        if head and not head.startswith("*"):
            equations.append(head)
    return hashlib.sha256("\n".join(equations).encode("utf-8")).hexdigest()


def cache_dir() -> Path:
    """Folder of cached translations (``$HATINH_SD_CACHE`` or ``<repo>/.cache``)."""
    env = os.environ.get("HATINH_SD_CACHE")
    if env and Path(env).exists() and not Path(env).is_dir():
        raise HatinhInputError(
            "is a file; the cache named by HATINH_SD_CACHE must be a folder",
            path=env,
            key="HATINH_SD_CACHE",
        )
    return Path(env) if env else repo_root() / ".cache"


def translate(mdl_path: Path | str | None = None, *, force: bool = False) -> Path:
    """Translate the ``.mdl`` with PySD once per content hash; return the ``.py`` path.

    The translation is made in a temporary folder and moved into the cache
    atomically, so concurrent processes never see half-written files. The
    cache key is the ``.mdl``'s hash and PySD's version; the translated file's
    own SHA-256 is recorded beside it and checked before it is used (a
    changed or damaged file is translated again, with a warning).
    """
    import pysd

    mdl_path = Path(mdl_path) if mdl_path else current_project().model
    digest = model_hash(mdl_path)
    target = cache_dir() / "translated" / f"{mdl_path.stem}-{digest[:16]}-pysd{pysd.__version__}"

    read_text(mdl_path, missing="model file not found")  # a folder, or bytes not UTF-8

    def build(folder: Path) -> None:
        shutil.copy2(mdl_path, folder / mdl_path.name)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pysd.read_vensim(str(folder / mdl_path.name), initialize=False)
        except Exception as exc:  # PySD's parser and builder: not Vensim that PySD reads
            raise _translation_error(mdl_path, exc) from None
        for w in caught:  # a model PySD translates: its warnings (but those said below)
            if "which it is not implemented" not in str(w.message):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    path = build_cached(target, f"{mdl_path.stem}.py", build, force=force)
    _check_implemented(mdl_path, path)
    return path


def _check_implemented(mdl_path: Path, py_path: Path) -> None:
    """Refuse a model that calls a Vensim function PySD does not implement (its translation
    calls ``not_implemented_function``, which fails when the run reaches it), naming the
    function and the line of its first call; checked on cached translations too."""
    missing = re.search(r'not_implemented_function\(\s*"([^"]+)"', py_path.read_text("utf-8"))
    if missing:
        name = missing.group(1)
        call = re.compile(rf"\b{re.escape(name)}\s*\(", re.IGNORECASE)
        lines = mdl_path.read_text(encoding="utf-8").splitlines()
        raise HatinhInputError(
            f"not a Vensim model that PySD runs: PySD does not implement the function "
            f"'{name.upper()}'",
            path=mdl_path,
            line=next((i for i, text in enumerate(lines, 1) if call.search(text)), None),
        )


def equation_line(mdl_path: Path, name: str) -> int | None:
    """The line of ``mdl_path`` where the equation of ``name`` starts (Vensim's names: case,
    spaces and underscores do not count), or None."""
    words = [re.escape(w) for w in re.split(r"[\s_]+", name.strip()) if w]
    if not words:
        return None
    pattern = re.compile(r"^\s*" + r"[\s_]+".join(words) + r"\s*(\(|=|:)", re.IGNORECASE)
    lines = mdl_path.read_text(encoding="utf-8").splitlines()
    return next((i for i, text in enumerate(lines, 1) if pattern.match(text)), None)


def _failing_element(exc: BaseException) -> str | None:
    """The model element PySD was working on when ``exc`` was raised (its ``name``), found
    in the innermost frame of PySD's translator that holds one; None if no frame does."""
    name = None
    tb = exc.__traceback__
    while tb is not None:
        for key in ("self", "component", "element"):
            obj = tb.tb_frame.f_locals.get(key)
            found = getattr(obj, "name", None)
            if (
                type(obj).__module__.startswith("pysd.")
                and isinstance(found, str)
                and not found.startswith("__")  # a section (__main__), not an equation
            ):
                name = found
        tb = tb.tb_next
    return name


def _translation_error(mdl_path: Path, exc: Exception) -> HatinhInputError:
    """One line for PySD's failure to translate ``mdl_path``: the equation it was reading
    and, for a parse error (``parsimonious``), the line within it and the text it stopped at."""
    element = _failing_element(exc)
    line = equation_line(mdl_path, element) if element else None
    what = f"the equation of '{element}'" if element else "it"
    pos, line_of_error = getattr(exc, "pos", None), getattr(exc, "line", None)
    if isinstance(pos, int) and callable(line_of_error):
        text = str(getattr(exc, "text", ""))  # the equation's expression, or the whole file
        near = text[pos:].split("\n", 1)[0][:30]
        if line is not None:  # the expression starts on its equation's line
            line += int(line_of_error()) - 1
        elif element is None:  # the file itself did not parse
            line = int(line_of_error())
        detail = f"PySD cannot parse {what} near {near!r}"
    else:
        detail = f"PySD cannot translate {what} ({type(exc).__name__}: {exc})"
    message = " ".join(f"not a Vensim model that PySD reads: {detail}".split())[:300]
    return HatinhInputError(message, path=mdl_path, line=line)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_cached(
    target: Path, filename: str, build: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Return ``target/filename``, first building ``target`` with ``build(folder)`` if needed.

    The build runs in a temporary folder beside ``target`` that is renamed into
    place in one step, so concurrent processes never see half-written files.
    """
    path = target / filename
    record = target / f"{filename}.sha256"
    if path.exists() and not force:
        if record.exists() and record.read_text().strip() == _sha256(path):
            return path
        warnings.warn(
            f"{path}: the cached file does not match its recorded SHA-256; rebuilding it",
            stacklevel=2,
        )
        force = True
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        build(tmp)
        (tmp / f"{filename}.sha256").write_text(_sha256(tmp / filename) + "\n")
        if force and target.exists():
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race
            if not path.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path
