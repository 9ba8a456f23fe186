"""System-dynamics model of Hà Tĩnh province, run under PySD.

Importing the package is cheap: it loads no model, no PySD and no data. Use
the submodules (:mod:`hatinh_sd.data`, ...) or the ``hatinh-sd`` command.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__: str = _distribution_version("hatinh-sd")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
