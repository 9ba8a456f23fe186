"""The project: which model, data and settings the commands use.

A project is a ``project.yaml`` file naming its files (relative to the file) and the
region it models. This repository's own project is ``project.yaml`` at its root (Hà Tĩnh);
another province is another project file with its ``.mdl``, data, scenarios and factor
table, chosen with ``hatinh-sd --project FILE`` (or the environment variable
``HATINH_SD_PROJECT``). Every default path of the package is read from the active
project when it is used, never fixed when a module is imported.

The lowest layer of the package: it imports only :mod:`hatinh_sd.errors`.

>>> p = default_project()
>>> p.model.name, p.data.name
('hatinh.mdl', 'data')
>>> with use_project(p):
...     current_project() is p
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hatinh_sd.errors import HatinhInputError, line_of, parse_yaml, validate

__all__ = [
    "FROM_PROJECT",
    "PROJECT_ENV_VAR",
    "PROJECT_FILE",
    "Project",
    "current_project",
    "default_project",
    "load_project",
    "repo_root",
    "use_project",
]

#: The project file's name at a project's root.
PROJECT_FILE = "project.yaml"
#: Environment variable naming the project file (``--project`` wins over it).
PROJECT_ENV_VAR = "HATINH_SD_PROJECT"


class FromProject(enum.Enum):
    """Type of :data:`FROM_PROJECT`."""

    FROM_PROJECT = "the active project's file"


#: Default of a file argument: the active project's file, looked up when the call runs
#: (``None`` for an optional file means "none").
FROM_PROJECT = FromProject.FROM_PROJECT


def repo_root() -> Path:
    """Return this repository's root folder (the one holding ``project.yaml``).

    Resolved from the package location (``src/hatinh_sd/../..``), falling back
    to the current directory for a non-editable install.
    """
    here = Path(__file__).resolve().parents[2]
    if (here / PROJECT_FILE).exists():
        return here
    return Path.cwd()


class _Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vi: str
    en: str


#: The project's paths that name folders (the others name files).
_FOLDERS = frozenset({"data", "scenarios"})


class _ProjectFile(BaseModel):
    """The keys of a project file (paths relative to the file)."""

    model_config = ConfigDict(extra="forbid")
    region: _Labels
    title: _Labels
    plan: _Labels = _Labels(vi="kế hoạch", en="the plan")
    model: str
    calibration: str | None = None
    calibration_setup: str | None = None
    posterior: str | None = None
    data: str
    scenarios: str
    factors: str
    translation: str | None = None
    readme: str | None = None


@dataclasses.dataclass(frozen=True)
class Project:
    """A project's files, the region it models and the plan whose targets it scores (see the
    module's docstring).

    Optional files are ``None`` when the project has none: a project without a
    calibration runs the model's own constants, one without a posterior draws its
    uncertain constants from the factor table.
    """

    file: Path
    region: dict[str, str]
    title: dict[str, str]
    plan: dict[str, str]
    model: Path
    data: Path
    scenarios: Path
    factors: Path
    calibration: Path | None = None
    calibration_setup: Path | None = None
    posterior: Path | None = None
    translation: Path | None = None
    readme: Path | None = None

    @property
    def root(self) -> Path:
        """The folder of the project file."""
        return self.file.parent

    def path(self, key: str) -> Path:
        """The file ``key`` names (``calibration``, ``posterior``, ...); a clear error when the
        project has none."""
        value = getattr(self, key)
        if value is None:
            raise HatinhInputError(f"the project has no {key} file", path=self.file, key=key)
        return value


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read and check a project file; its model, data folder and scenario folder must exist
    (the other files are checked when a command reads them: some are written by commands)."""
    file = Path(path).resolve()
    data, node = parse_yaml(file, missing="project file not found")
    doc = validate(_ProjectFile, data, file, node)
    root = file.parent
    names = ("region", "title", "plan")
    for key in names:
        for lang, label in getattr(doc, key).model_dump().items():
            if not str(label).strip():
                raise HatinhInputError(
                    "is blank; a label needs text",
                    path=file,
                    key=f"{key}.{lang}",
                    line=line_of(node, (key, lang)),
                )
    paths: dict[str, Path | None] = {}
    for key, value in doc.model_dump().items():
        if key in names:
            continue
        try:
            paths[key] = None if value is None else (root / value).resolve()
            if key in ("model", "data", "scenarios"):  # the others are checked when read
                p = paths[key]
                if p is not None and not p.exists():
                    raise HatinhInputError(
                        f"the project's {key} is not found: {p}", path=file, key=key
                    )
                if p is not None and p.is_dir() != (key in _FOLDERS):
                    kind = "folder" if key in _FOLDERS else "file"
                    raise HatinhInputError(
                        f"the project's {key} must be a {kind}: {p}", path=file, key=key
                    )
        except (OSError, ValueError) as exc:  # a NUL in the path, a name too long
            reason = getattr(exc, "strerror", None) or str(exc)
            raise HatinhInputError(
                f"the project's {key} is not a usable path ({reason})", path=file, key=key
            ) from None
    return Project(
        file=file,
        **{key: getattr(doc, key).model_dump() for key in names},
        **paths,  # type: ignore[arg-type]  # model, data and scenarios are set (checked above)
    )


_DEFAULT: Project | None = None
_ACTIVE: list[Project] = []


def default_project() -> Project:
    """This repository's project (``project.yaml`` at its root), read once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_project(repo_root() / PROJECT_FILE)
    return _DEFAULT


def current_project() -> Project:
    """The active project: the innermost :func:`use_project`, else the file named by
    ``HATINH_SD_PROJECT``, else :func:`default_project`."""
    if _ACTIVE:
        return _ACTIVE[-1]
    env = os.environ.get(PROJECT_ENV_VAR, "").strip()
    if env:
        return _load_cached(str(Path(env).expanduser().resolve()))
    return default_project()


_CACHE: dict[str, Project] = {}


def _load_cached(path: str) -> Project:
    if path not in _CACHE:
        _CACHE[path] = load_project(path)
    return _CACHE[path]


@contextlib.contextmanager
def use_project(project: Project | str | os.PathLike[str]) -> Iterator[Project]:
    """Make ``project`` (a :class:`Project` or a project file) the active project inside the
    ``with`` block, for this process and the worker processes it starts (through
    ``HATINH_SD_PROJECT``)."""
    p = project if isinstance(project, Project) else load_project(project)
    before = os.environ.get(PROJECT_ENV_VAR)
    _ACTIVE.append(p)
    os.environ[PROJECT_ENV_VAR] = str(p.file)
    try:
        yield p
    finally:
        _ACTIVE.pop()
        if before is None:
            os.environ.pop(PROJECT_ENV_VAR, None)
        else:
            os.environ[PROJECT_ENV_VAR] = before
