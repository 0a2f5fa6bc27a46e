"""A target that records canonical writes in a SQLite file: for dry runs, shadow mode and fault tests."""
