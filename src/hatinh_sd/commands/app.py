"""``hatinh-sd app``: serve the interactive scenario explorer (Dash) in the browser."""

from __future__ import annotations

import argparse

from hatinh_sd.errors import HatinhInputError

#: Addresses served without ``--allow-remote``.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse an address other than the local machine unless explicitly allowed."""
    if host not in LOCAL_HOSTS and not allow_remote:
        raise HatinhInputError(
            f"serving on '{host}' makes the app reachable from other machines; "
            f"add --allow-remote to do so (local addresses: {', '.join(LOCAL_HOSTS)})",
            path="--host",
            key=host,
        )


def cmd_app(args: argparse.Namespace) -> int:
    check_host(args.host, args.allow_remote)
    if not 0 < args.port < 65536:
        raise HatinhInputError(
            f"port {args.port} is not in 1-65535", path="--port", key=str(args.port)
        )
    from hatinh_sd.app import create_app

    app = create_app(lang=args.lang, engine=args.engine)
    print(f"hatinh-sd app: http://{args.host}:{args.port}/  (Ctrl+C to stop)")
    app.run(host=args.host, port=args.port, debug=False)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="serve the interactive scenario explorer in the browser")
    p.add_argument("--port", type=int, default=8050, help="port (default: 8050)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding to an address other than the local machine",
    )
    p.add_argument(
        "--engine",
        choices=("compiled", "simlin", "pysd"),
        default="compiled",
        help="engine of the page's runs: the model's compiled kernel (default), then pysimlin, "
        "each used only once it agrees with PySD within 1e-9 at start, or PySD, the "
        "project's reference, alone",
    )
    p.set_defaults(func=cmd_app)
