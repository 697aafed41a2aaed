"""Who may watch and steer: identities and roles, credentials, limits and the audit log.

Pure parts with no I/O; the aiohttp side (middleware, login pages, the sessions API)
is in :mod:`relay.routes`.
"""
