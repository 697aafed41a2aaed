"""The configuration's machinery: error messages, the environment and flags layered on the
file, ``esp32-relay config check | show | schema``."""
