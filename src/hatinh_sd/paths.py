"""Where the project's files are: the root folder and the default model and calibration.

The lowest layer of the package (it imports nothing of it), so that every module can name
the project's default files without loading the model.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_CALIBRATION_PATH", "DEFAULT_MODEL_PATH", "repo_root"]


def repo_root() -> Path:
    """Return the project's root folder (the one holding ``model/``).

    Resolved from the package location (``src/hatinh_sd/../..``), falling back
    to the current directory for a non-editable install.
    """
    here = Path(__file__).resolve().parents[2]
    if (here / "model" / "hatinh.mdl").exists():
        return here
    return Path.cwd()


DEFAULT_MODEL_PATH = repo_root() / "model" / "hatinh.mdl"

#: Fitted values of the parameters marked ``calibrated:``, written by
#: ``hatinh-sd calibrate`` and reviewed; every run reads it.
DEFAULT_CALIBRATION_PATH = repo_root() / "model" / "calibration.yaml"
