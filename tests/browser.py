"""How the browser tests and ``benchmarks/app_speed.py`` launch Debian's chromium
(``apt-get install chromium``), never a browser Playwright downloads."""

#: Debian's chromium.
CHROMIUM = "/usr/bin/chromium"

#: Its launch arguments: headless, no sandbox (CI runs as root), nothing fetched.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
