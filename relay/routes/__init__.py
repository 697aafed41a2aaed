"""The relay's own HTTP routes: pages, the JSON API, health and metrics, the static files.

WHEP lives in :mod:`signaling.whep`; :func:`relay.app.create_app` adds both.
"""
