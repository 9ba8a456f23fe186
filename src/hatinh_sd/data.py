"""Load and validate the model's data files (``model/data/*.csv``).

The four files are the project's shared statistics (see ``model/data`` and the
data README):

``observed.csv``
    Historical series in long format: indicator, year, period, value, unit,
    status, source, note.
``projects.csv``
    Large projects and events (Formosa, Vũng Áng 1 and 2, VinES, ...).
``targets.csv``
    The plan's targets: target_id, indicator, year, comparator, value, unit,
    price_basis, source, note.
``sources.csv``
    Where each source key points: key, publisher_or_title, url, note.

Every check that fails raises :class:`hatinh_sd.errors.HatinhInputError`
naming the file, the line as a person counts it (the header is line 1; a
quoted field that spans several lines counts all of them) and the column.

Time convention
---------------
Each observed row gets a decimal ``time`` in years, the time at which the model
output is compared with it. The model saves yearly values at integer times and
treats the value saved at ``t = year`` as that year's value, so an annual value
(``period == "year"``) gets ``time = year``. A sub-annual value gets the middle
of the part of the year it covers: Q1 ``+0.125``, Q2 ``+0.375``, Q3 ``+0.625``,
Q4 ``+0.875``, H1 (January-June) ``+0.25``, 9M (January-September) ``+0.375``,
10M (January-October) ``+5/12``. Such values are flows or shares over part of
a year, or stocks at a date inside it; ``is_annual`` tells them apart and
calibration should normally use annual rows only.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hatinh_sd.errors import HatinhInputError, did_you_mean, separator_hint
from hatinh_sd.project import current_project

__all__ = [
    "COMPARATORS",
    "DATA_DIR_ENV_VAR",
    "KNOWN_INDICATORS",
    "PERIODS",
    "PERIOD_TIME_OFFSET",
    "STATUSES",
    "YEAR_RANGE",
    "ModelData",
    "data_dir",
    "load_all",
    "load_observed",
    "load_projects",
    "load_sources",
    "load_targets",
]

#: Environment variable that overrides the data directory.
DATA_DIR_ENV_VAR = "HATINH_SD_DATA_DIR"

#: File names inside the data directory.
OBSERVED_FILE = "observed.csv"
PROJECTS_FILE = "projects.csv"
TARGETS_FILE = "targets.csv"
SOURCES_FILE = "sources.csv"

#: Inclusive range of years accepted in any file.
YEAR_RANGE = (1990, 2100)

#: Offset (years) added to ``year`` to get the comparison time of a value
#: covering ``period``: the middle of the covered part of the year; annual
#: values sit at the integer year (see the module docstring).
PERIOD_TIME_OFFSET: dict[str, float] = {
    "year": 0.0,
    "Q1": 0.125,
    "Q2": 0.375,
    "Q3": 0.625,
    "Q4": 0.875,
    "H1": 0.25,
    "9M": 0.375,
    "10M": 5.0 / 12.0,
}

#: Accepted values of ``period`` in observed.csv.
PERIODS = frozenset(PERIOD_TIME_OFFSET)

#: Accepted values of ``status``: R = read in the source, D = derived from
#: numbers in the source, E = preliminary estimate.
STATUSES = frozenset({"R", "D", "E"})

#: Accepted target comparators; ``~`` means "about" (within +-10 %).
COMPARATORS = frozenset({">", ">=", "<", "<=", "~", "="})

#: Every indicator observed.csv may use, with its one accepted unit. A new
#: series needs an entry here, so a misspelt indicator or unit cannot slip in.
KNOWN_INDICATORS: dict[str, str] = {
    # population
    "population_total": "thousand persons",
    "population_urban": "thousand persons",
    # output
    "grdp_growth": "% per year",
    "grdp_growth_without_formosa": "% per year",
    "tfp_growth_modern": "% per year",
    "grdp_const2010": "billion VND (2010 prices)",
    "grdp_current": "billion VND",
    "grdp_per_capita_current": "million VND",
    "grdp_current_20th_ranked_province": "billion VND",
    "grdp_current_10th_ranked_province": "billion VND",
    "share_agriculture_grdp": "% of GRDP (current prices)",
    "share_industry_construction_grdp": "% of GRDP (current prices)",
    "share_services_grdp": "% of GRDP (current prices)",
    "share_services_and_product_taxes_grdp": "% of GRDP (current prices)",
    "share_product_taxes_grdp": "% of GRDP (current prices)",
    "steel_output": "million tonnes",
    "electricity_design_output_vung_ang_1": "billion kWh per year",
    "electricity_output_vung_ang_1": "billion kWh",
    "electricity_production": "billion kWh",
    "share_steel_grdp": "% of GRDP (current prices)",
    "share_industry_grdp": "% of GRDP (current prices)",
    "grdp_growth_agriculture": "% per year",
    "grdp_growth_industry_construction": "% per year",
    "grdp_growth_services": "% per year",
    "exports": "billion USD",
    "exchange_rate": "VND per USD",
    # investment and public finance
    "total_social_investment": "billion VND (current)",
    "total_social_investment_cumulative_2015_2020": "billion VND (current)",
    "budget_revenue": "billion VND",
    "budget_revenue_domestic": "billion VND",
    "public_investment": "billion VND (current)",
    "fdi_registrations_new": "million USD",
    "fdi_registrations_new_cumulative_2015_2020": "million USD",
    "fdi_registered_stock": "million USD",
    "fdi_projects_active": "projects",
    "fdi_realised_investment": "billion VND",
    "new_enterprises": "firms",
    # labour
    "labour_force": "persons",
    "employed": "persons",
    "labour_force_participation": "% of population 15+",
    "working_age_share": "% of population",
    "employment_share_agriculture": "% of employed",
    "employment_share_industry_construction": "% of employed",
    "employment_share_services": "% of employed",
    "unemployment_rate": "% of labour force",
}

#: Required header columns of each file, in their usual order.
OBSERVED_COLUMNS = ("indicator", "year", "period", "value", "unit", "status", "source", "note")
PROJECTS_COLUMNS = ("project", "event", "date", "quantity", "unit", "source", "note")
TARGETS_COLUMNS = (
    "target_id",
    "indicator",
    "year",
    "comparator",
    "value",
    "unit",
    "price_basis",
    "source",
    "note",
    "variable",
    "label_en",
    "label_vi",
)
SOURCES_COLUMNS = ("key", "publisher_or_title", "url", "note")

#: Separator of several source keys in one ``source`` field of targets.csv.
SOURCE_LIST_SEPARATOR = ";"

# ASCII digits only: Python's int() and \d also take other scripts' digits ("２０２０").
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_YEAR_RE = re.compile(r"\d{4}", re.ASCII)
_DATE_RE = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-z][a-z0-9_]*")
# The data README: notes saying "stated as 'over X'" mark lower bounds.
_LOWER_BOUND_RE = re.compile(r"stated as\s+['\"\u2018\u2019\u201c]?over\b", re.IGNORECASE)


# --------------------------------------------------------------------------
# locating the data


def data_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory holding the model's data files.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Explicit directory; wins over everything else.

    Returns
    -------
    pathlib.Path
        The absolute directory. In order of precedence: ``directory``; the
        environment variable ``HATINH_SD_DATA_DIR``; the active project's data
        folder (:func:`hatinh_sd.project.current_project`; ``model/data`` of this
        repository's ``project.yaml``).

    Raises
    ------
    HatinhInputError
        If the chosen directory does not exist.
    """
    if directory is not None:
        chosen = Path(directory)
        if not chosen.is_dir():
            raise HatinhInputError("data directory not found", path=chosen)
        return chosen.resolve()

    from_env = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if from_env:
        chosen = Path(from_env).expanduser()
        if not chosen.is_dir():
            raise HatinhInputError(
                f"data directory named by environment variable {DATA_DIR_ENV_VAR} not found",
                path=chosen,
                key=DATA_DIR_ENV_VAR,
            )
        return chosen.resolve()

    return current_project().data


# --------------------------------------------------------------------------
# reading CSV with line numbers


@dataclass(frozen=True)
class _Record:
    """One data row: the line it starts on and its fields by column name."""

    line: int
    fields: dict[str, str]


def _read_csv(path: Path, required: Sequence[str]) -> list[_Record]:
    """Read ``path`` as strict CSV, checking the header and field counts.

    Fields are stripped of surrounding white space; blank lines are skipped.
    """
    if not path.exists():
        raise HatinhInputError("file not found", path=path)
    if not path.is_file():
        raise HatinhInputError("not a regular file", path=path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HatinhInputError(f"cannot read the file: {exc.strerror or exc}", path=path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HatinhInputError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            path=path,
            line=line,
        ) from exc

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    records: list[_Record] = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise HatinhInputError(
                f"malformed CSV ({exc}); a field containing a comma or a quote must be "
                'enclosed in double quotes, with inner quotes doubled ("")',
                path=path,
                line=max(reader.line_num, start),
            ) from exc
        # The reader skips nothing: a blank line gives [] and the line count
        # still advances, so ``start`` stays exact for the next row.
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        fields = [f.strip() for f in row]
        if header is None:
            if start != 1:
                raise HatinhInputError(
                    "the header must be on line 1 (blank lines before it)", path=path, line=start
                )
            header = _check_header(path, fields, required)
            continue
        if len(fields) != len(header):
            hint = (
                "; a field containing a comma must be enclosed in double quotes"
                if len(fields) > len(header)
                else ""
            )
            raise HatinhInputError(
                f"expected {len(header)} fields ({', '.join(header)}), found {len(fields)}{hint}",
                path=path,
                line=start,
            )
        records.append(_Record(start, dict(zip(header, fields, strict=True))))
    if header is None:
        raise HatinhInputError(
            f"file is empty; expected a header line with columns {', '.join(required)}",
            path=path,
        )
    return records


def _check_header(path: Path, header: list[str], required: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    for name in header:
        if not name:
            raise HatinhInputError("empty column name in the header", path=path, line=1)
        if name in seen:
            raise HatinhInputError(
                "column appears twice in the header", path=path, line=1, column=name
            )
        seen.add(name)
    for name in required:
        if name not in seen:
            raise HatinhInputError(
                f"required column missing from the header (found: {', '.join(header)})"
                + separator_hint(header),
                path=path,
                line=1,
                column=name,
            )
    return header


# --------------------------------------------------------------------------
# field parsers; each raises HatinhInputError at (path, line, column)


class _Fields:
    """Typed access to one record's fields, raising located errors."""

    def __init__(self, path: Path, record: _Record) -> None:
        self.path = path
        self.line = record.line
        self.raw = record.fields

    def error(self, column: str | None, message: str) -> HatinhInputError:
        return HatinhInputError(message, path=self.path, line=self.line, column=column)

    def text(self, column: str, *, required: bool = True) -> str:
        value = self.raw[column]
        if required and not value:
            raise self.error(column, "empty; a value is required")
        return value

    def number(self, column: str, *, required: bool = True) -> float:
        value = self.raw[column]
        if not value:
            if required:
                raise self.error(column, "empty; a number is required")
            return math.nan
        if not _NUMBER_RE.fullmatch(value):
            hint = " (write numbers without thousands separators)" if "," in value else ""
            raise self.error(column, f"{value!r} is not a number{hint}")
        if not math.isfinite(float(value)):
            raise self.error(column, f"{value!r} is too large to be a finite number")
        return float(value)

    def year(self, column: str = "year") -> int:
        value = self.text(column)
        if not _YEAR_RE.fullmatch(value):
            raise self.error(column, f"{value!r} is not a whole four-digit year")
        return self.check_year_range(column, int(value))

    def check_year_range(self, column: str, year: int) -> int:
        low, high = YEAR_RANGE
        if not low <= year <= high:
            raise self.error(column, f"year {year} is outside {low}-{high}")
        return year

    def choice(self, column: str, allowed: Collection[str]) -> str:
        value = self.raw[column]
        if value not in allowed:
            shown = "empty" if not value else repr(value)
            raise self.error(column, f"{shown} is not one of {', '.join(sorted(allowed))}")
        return value

    def source_keys(
        self, column: str, known: Collection[str], *, allow_list: bool
    ) -> tuple[str, ...]:
        value = self.text(column)
        keys = (
            tuple(k.strip() for k in value.split(SOURCE_LIST_SEPARATOR)) if allow_list else (value,)
        )
        for key in keys:
            if not key:
                raise self.error(column, f"empty source key in {value!r}")
            if key not in known:
                raise self.error(
                    column,
                    f"unknown source key {key!r}: not a key in {SOURCES_FILE}"
                    + _suggest(key, known),
                )
        return keys


def _suggest(name: str, known: Iterable[str]) -> str:
    """Return ``"; did you mean 'a', 'b'?"`` for close matches, else ``""``."""
    return did_you_mean(name, known, cutoff=0.6)


def _resolve(
    path: str | os.PathLike[str] | None,
    directory: str | os.PathLike[str] | None,
    name: str,
) -> Path:
    return Path(path) if path is not None else data_dir(directory) / name


def _known_source_keys(path: Path, source_keys: Iterable[str] | None) -> frozenset[str]:
    if source_keys is not None:
        return frozenset(source_keys)
    return frozenset(load_sources(path.parent / SOURCES_FILE)["key"])


def _frame(
    rows: list[dict[str, object]], columns: Sequence[str], dtypes: dict[str, str]
) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(dtypes)


# --------------------------------------------------------------------------
# the four files


def load_sources(
    path: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Load and validate ``sources.csv``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file; by default ``sources.csv`` in :func:`data_dir` ``(directory)``.
    directory : str or os.PathLike, optional
        Data directory used when ``path`` is not given.

    Returns
    -------
    pandas.DataFrame
        One row per source, in file order, with columns ``key``,
        ``publisher_or_title``, ``url``, ``note`` (``""`` when empty) and
        ``line`` (line number in the file).

    Raises
    ------
    HatinhInputError
        If the file is missing or malformed, a key, title or URL is empty, or a
        key appears twice.
    """
    file = _resolve(path, directory, SOURCES_FILE)
    rows: list[dict[str, object]] = []
    first_line: dict[str, int] = {}
    for record in _read_csv(file, SOURCES_COLUMNS):
        f = _Fields(file, record)
        key = f.text("key")
        if key in first_line:
            raise f.error("key", f"duplicate source key {key!r} (first on line {first_line[key]})")
        first_line[key] = f.line
        rows.append(
            {
                "key": key,
                "publisher_or_title": f.text("publisher_or_title"),
                "url": f.text("url"),
                "note": f.text("note", required=False),
                "line": f.line,
            }
        )
    return _frame(rows, (*SOURCES_COLUMNS, "line"), {"line": "int64"})


def load_observed(
    path: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    source_keys: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Load and validate ``observed.csv``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file; by default ``observed.csv`` in :func:`data_dir` ``(directory)``.
    directory : str or os.PathLike, optional
        Data directory used when ``path`` is not given.
    source_keys : iterable of str, optional
        Valid source keys; by default the keys of ``sources.csv`` in the same
        directory as the file.

    Returns
    -------
    pandas.DataFrame
        One row per observation, in file order, with the file's columns
        (``year`` int, ``value`` float in ``unit``, ``note`` ``""`` when empty)
        and:

        ``lower_bound`` : bool
            The note says the source stated the value as "over X": the true
            value is at least ``value``.
        ``time`` : float
            Comparison time in years (see the module docstring).
        ``is_annual`` : bool
            ``period == "year"``.
        ``line`` : int
            Line number in the file.

    Raises
    ------
    HatinhInputError
        For a missing or malformed file; an indicator not in
        :data:`KNOWN_INDICATORS` (with the closest known names) or a unit other
        than its registered one; a non-numeric value; a year that is not an
        integer in :data:`YEAR_RANGE`; a period not in :data:`PERIODS`; a status
        not in :data:`STATUSES`; a source key not in ``sources.csv``; two rows
        with the same indicator, year and period.
    """
    file = _resolve(path, directory, OBSERVED_FILE)
    records = _read_csv(file, OBSERVED_COLUMNS)
    known_sources = _known_source_keys(file, source_keys)
    rows: list[dict[str, object]] = []
    first_line: dict[tuple[str, int, str], int] = {}
    for record in records:
        f = _Fields(file, record)
        indicator = f.text("indicator")
        if indicator not in KNOWN_INDICATORS:
            raise f.error(
                "indicator",
                f"unknown indicator {indicator!r}"
                + _suggest(indicator, KNOWN_INDICATORS)
                + " (a new series must be added to KNOWN_INDICATORS in hatinh_sd/data.py)",
            )
        year = f.year("year")
        period = f.choice("period", PERIODS)
        value = f.number("value")
        unit = f.text("unit")
        if unit != KNOWN_INDICATORS[indicator]:
            raise f.error(
                "unit",
                f"unit {unit!r} differs from {KNOWN_INDICATORS[indicator]!r}, "
                f"the registered unit of {indicator!r}",
            )
        if value < 0 and unit != "% per year":
            raise f.error("value", f"{value:g} is negative; only growth rates (% per year) may be")
        if value > 100 and unit.startswith("% of"):
            raise f.error("value", f"{value:g} is a share above 100 %")
        status = f.choice("status", STATUSES)
        (source,) = f.source_keys("source", known_sources, allow_list=False)
        note = f.text("note", required=False)
        key = (indicator, year, period)
        if key in first_line:
            raise f.error(
                None,
                f"duplicate observation of {indicator!r} for {year} {period} "
                f"(first on line {first_line[key]})",
            )
        first_line[key] = f.line
        rows.append(
            {
                "indicator": indicator,
                "year": year,
                "period": period,
                "value": value,
                "unit": unit,
                "status": status,
                "source": source,
                "note": note,
                "lower_bound": bool(_LOWER_BOUND_RE.search(note)),
                "time": year + PERIOD_TIME_OFFSET[period],
                "is_annual": period == "year",
                "line": f.line,
            }
        )
    columns = (*OBSERVED_COLUMNS, "lower_bound", "time", "is_annual", "line")
    dtypes = {
        "year": "int64",
        "value": "float64",
        "lower_bound": "bool",
        "time": "float64",
        "is_annual": "bool",
        "line": "int64",
    }
    frame = _frame(rows, columns, dtypes)
    frame.attrs["path"] = str(file)
    return frame


def load_targets(
    path: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    source_keys: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Load and validate ``targets.csv``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file; by default ``targets.csv`` in :func:`data_dir` ``(directory)``.
    directory : str or os.PathLike, optional
        Data directory used when ``path`` is not given.
    source_keys : iterable of str, optional
        Valid source keys; by default the keys of ``sources.csv`` in the same
        directory as the file.

    Returns
    -------
    pandas.DataFrame
        One row per target, in file order, with the file's columns (``year``
        int, ``value`` float in ``unit``; ``price_basis`` and ``note`` ``""``
        when empty) and:

        ``group`` : str
            First letter of ``target_id``: T (Action Programme 26-CTr/TU),
            P (provincial plan), N (national references), M (2012 master plan).
        ``source_keys`` : tuple of str
            The keys in ``source``, which may list several separated by ``;``.
        ``line`` : int
            Line number in the file.

        ``variable`` is the model variable (its Python name, as in a run's
        Dataset) that computes the indicator, ``""`` for a target outside the
        model's boundary; one indicator is computed by one variable.
        ``label_en`` and ``label_vi`` name the target in reports and the
        explorer (``""`` when not given: the indicator's name is shown). The
        indicators are the model's outcome names, not checked against
        :data:`KNOWN_INDICATORS`.

    Raises
    ------
    HatinhInputError
        For a missing or malformed file; an empty or repeated ``target_id``; an
        indicator that is not a lower-case identifier; a year that is not an
        integer in :data:`YEAR_RANGE`; a comparator not in :data:`COMPARATORS`;
        a non-numeric value; an empty unit; a source key not in
        ``sources.csv``.
    """
    file = _resolve(path, directory, TARGETS_FILE)
    records = _read_csv(file, TARGETS_COLUMNS)
    known_sources = _known_source_keys(file, source_keys)
    rows: list[dict[str, object]] = []
    first_line: dict[str, int] = {}
    variable_of: dict[str, tuple[str, int]] = {}  # indicator -> (variable, line)
    for record in records:
        f = _Fields(file, record)
        target_id = f.text("target_id")
        if target_id in first_line:
            raise f.error(
                "target_id",
                f"duplicate target_id {target_id!r} (first on line {first_line[target_id]})",
            )
        first_line[target_id] = f.line
        indicator = f.text("indicator")
        if not _IDENTIFIER_RE.fullmatch(indicator):
            raise f.error(
                "indicator",
                f"{indicator!r} is not an indicator name (lower-case letters, digits and _)",
            )
        year = f.year("year")
        comparator = f.choice("comparator", COMPARATORS)
        value = f.number("value")
        unit = f.text("unit")
        if unit.startswith("% of") and not 0 <= value <= 100:
            raise f.error("value", f"{value:g} {unit}: a share is between 0 and 100")
        keys = f.source_keys("source", known_sources, allow_list=True)
        variable = f.text("variable", required=False)
        if variable and not _IDENTIFIER_RE.fullmatch(variable):
            raise f.error(
                "variable",
                f"{variable!r} is not a model variable's Python name (lower-case letters, "
                "digits and _)",
            )
        if variable:
            before = variable_of.setdefault(indicator, (variable, f.line))
            if before[0] != variable:
                raise f.error(
                    "variable",
                    f"indicator {indicator!r} is computed by {before[0]!r} on line {before[1]}, "
                    f"not {variable!r}",
                )
        rows.append(
            {
                "target_id": target_id,
                "indicator": indicator,
                "year": year,
                "comparator": comparator,
                "value": value,
                "unit": unit,
                "price_basis": f.text("price_basis", required=False),
                "source": f.raw["source"],
                "note": f.text("note", required=False),
                "variable": variable,
                "label_en": f.text("label_en", required=False),
                "label_vi": f.text("label_vi", required=False),
                "group": target_id[0],
                "source_keys": keys,
                "line": f.line,
            }
        )
    columns = (*TARGETS_COLUMNS, "group", "source_keys", "line")
    frame = _frame(rows, columns, {"year": "int64", "value": "float64", "line": "int64"})
    frame.attrs["path"] = str(file)
    return frame


def load_projects(
    path: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    source_keys: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Load and validate ``projects.csv``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file; by default ``projects.csv`` in :func:`data_dir` ``(directory)``.
    directory : str or os.PathLike, optional
        Data directory used when ``path`` is not given.
    source_keys : iterable of str, optional
        Valid source keys; by default the keys of ``sources.csv`` in the same
        directory as the file.

    Returns
    -------
    pandas.DataFrame
        One row per event, in file order, with the file's columns (``date`` as
        written: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``""`` when not yet
        dated; ``quantity`` float, NaN when empty) and:

        ``year`` : Int64 (nullable)
            Year of ``date``; missing when there is no date.
        ``time`` : float
            Decimal year of the start of the date's day, month or year
            (``2017-05-29`` -> 2017.405); NaN when there is no date.
        ``line`` : int
            Line number in the file.

    Raises
    ------
    HatinhInputError
        For a missing or malformed file; an empty project or event; a date not
        of the forms above, or outside :data:`YEAR_RANGE`; a non-numeric
        quantity, or a quantity without a unit; a source key not in
        ``sources.csv``.
    """
    file = _resolve(path, directory, PROJECTS_FILE)
    records = _read_csv(file, PROJECTS_COLUMNS)
    known_sources = _known_source_keys(file, source_keys)
    rows: list[dict[str, object]] = []
    first_line: dict[tuple[str, str, str], int] = {}
    for record in records:
        f = _Fields(file, record)
        date = f.text("date", required=False)
        year, time = _parse_date(f, "date", date)
        event = (f.text("project"), f.text("event"), date)
        if event in first_line:
            raise f.error("event", f"the same project, event and date as line {first_line[event]}")
        first_line[event] = f.line
        quantity = f.number("quantity", required=False)
        unit = f.text("unit", required=False)
        if not math.isnan(quantity) and not unit:
            raise f.error("unit", "empty; a quantity needs a unit")
        if quantity < 0:
            raise f.error("quantity", f"{quantity:g}: a project's quantity is not negative")
        (source,) = f.source_keys("source", known_sources, allow_list=False)
        rows.append(
            {
                "project": f.text("project"),
                "event": f.text("event"),
                "date": date,
                "quantity": quantity,
                "unit": unit,
                "source": source,
                "note": f.text("note", required=False),
                "year": year,
                "time": time,
                "line": f.line,
            }
        )
    columns = (*PROJECTS_COLUMNS, "year", "time", "line")
    dtypes = {"quantity": "float64", "year": "Int64", "time": "float64", "line": "int64"}
    return _frame(rows, columns, dtypes)


def _parse_date(f: _Fields, column: str, value: str) -> tuple[int | None, float]:
    if not value:
        return None, math.nan
    match = _DATE_RE.fullmatch(value)
    if match is None:
        raise f.error(column, f"{value!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD")
    year = f.check_year_range(column, int(match["year"]))
    month = int(match["month"] or 1)
    day = int(match["day"] or 1)
    try:
        start = _dt.date(year, month, day)
    except ValueError as exc:
        raise f.error(column, f"{value!r} is not a calendar date ({exc})") from exc
    days_in_year = (_dt.date(year + 1, 1, 1) - _dt.date(year, 1, 1)).days
    return year, year + (start.toordinal() - _dt.date(year, 1, 1).toordinal()) / days_in_year


# --------------------------------------------------------------------------
# everything at once


@dataclass(frozen=True)
class ModelData:
    """The four validated data tables.

    Attributes
    ----------
    directory : pathlib.Path
        Where the files were read from.
    observed, projects, targets, sources : pandas.DataFrame
        As returned by :func:`load_observed`, :func:`load_projects`,
        :func:`load_targets` and :func:`load_sources`.
    """

    directory: Path
    observed: pd.DataFrame
    projects: pd.DataFrame
    targets: pd.DataFrame
    sources: pd.DataFrame

    def series(
        self,
        indicator: str,
        *,
        annual_only: bool = True,
        statuses: Collection[str] = ("R", "D", "E"),
    ) -> pd.Series:
        """Return one observed indicator as a series indexed by ``time``.

        Parameters
        ----------
        indicator : str
            A key of :data:`KNOWN_INDICATORS`.
        annual_only : bool, default True
            Keep only annual values (``period == "year"``).
        statuses : collection of str, default all
            Keep only rows with these statuses.

        Returns
        -------
        pandas.Series
            Values (in the indicator's registered unit) indexed by time in
            years, sorted, named ``indicator``; empty if nothing matches.

        Raises
        ------
        KeyError
            If ``indicator`` is not a known indicator.
        """
        if indicator not in KNOWN_INDICATORS:
            raise KeyError(
                f"unknown indicator {indicator!r}{_suggest(indicator, KNOWN_INDICATORS)}"
            )
        obs = self.observed
        mask = (obs["indicator"] == indicator) & obs["status"].isin(list(statuses))
        if annual_only:
            mask &= obs["is_annual"]
        selected = obs.loc[mask, ["time", "value"]].sort_values("time")
        series = pd.Series(selected["value"].to_numpy(), index=selected["time"].to_numpy())
        series.index.name = "time"
        series.name = indicator
        return series


def load_all(directory: str | os.PathLike[str] | None = None) -> ModelData:
    """Load and validate all four data files of one directory.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Data directory; by default :func:`data_dir` ``()``.

    Returns
    -------
    ModelData
        The validated tables; the source keys of the other three files are
        checked against ``sources.csv`` of the same directory.

    Raises
    ------
    HatinhInputError
        On the first problem found, sources.csv first.
    """
    folder = data_dir(directory)
    sources = load_sources(folder / SOURCES_FILE)
    keys = frozenset(sources["key"])
    return ModelData(
        directory=folder,
        observed=load_observed(folder / OBSERVED_FILE, source_keys=keys),
        projects=load_projects(folder / PROJECTS_FILE, source_keys=keys),
        targets=load_targets(folder / TARGETS_FILE, source_keys=keys),
        sources=sources,
    )
