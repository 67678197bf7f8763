"""Optional browser check of the README's Temporal Web UI steps (``python -m
tests.browser.ui_walk``); not part of ``make test``: pytest collects no module here."""
