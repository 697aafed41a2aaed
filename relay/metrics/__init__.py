"""Prometheus metrics of the whole relay, read from what each part already counts."""
