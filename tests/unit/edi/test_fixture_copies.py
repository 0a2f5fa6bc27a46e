"""The repository's copies of the shared X12 samples are the samples, unchanged, licences included."""

from __future__ import annotations

import pytest

from tests.unit.edi.support import FIXTURES, SHARED


def test_the_copies_are_the_shared_files_byte_for_byte() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"the shared folder {SHARED} is not beside this checkout (a clean clone); the copies stand alone")
    shared = {path.name: path.read_bytes() for path in SHARED.iterdir() if path.is_file()}
    copies = {path.name: path.read_bytes() for path in FIXTURES.iterdir() if path.is_file()}
    assert copies == shared


def test_every_sample_has_its_source_and_licence_recorded() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    for sample in FIXTURES.glob("*.edi"):
        assert sample.name in sources
    assert "MIT licence" in sources
    assert "BSD-3-Clause" in sources
