"""How headless chromium is started for `imagedeck serve`: the browser test and the screenshot.

Both ``tests/e2e/test_serve_browser.py`` and ``scripts/screenshots.py`` open the served page
in Debian's chromium through Playwright (``executable_path``; Playwright's own browser
download is never used), with these arguments.
"""

from __future__ import annotations

# Headless, no sandbox (root in a container), no GPU, and nothing that talks to the network
# at start-up.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
]
