"""What the tests and the benchmarks drive the relay with, importable by both.

``relay`` runs the real application on a loopback port, ``whep`` is an aiortc viewer
that decodes what it receives and reads the frame code, ``browser`` launches headless
Chromium so that it makes no connection of its own. Playwright (for ``browser``) is in
the ``test`` extra; the rest needs only the relay's own dependencies.
"""
