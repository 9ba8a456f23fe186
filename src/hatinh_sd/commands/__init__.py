"""Subcommands of ``hatinh-sd``: one module per command (or family of commands).

Each module defines ``register(subparsers)``, which adds its parser(s) and sets
``func`` (a function of the parsed arguments returning the exit status).
:func:`hatinh_sd.cli.build_parser` discovers the modules of this package, so a
feature adds a command by adding a module, without editing a shared file.
"""
