"""Benchmarks run by `crossdock bench <name> --json`; each module's `run(...)` returns one JSON-ready dict."""
