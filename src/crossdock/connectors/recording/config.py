"""Settings of a recording target."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class RecordingSettings(BaseModel):
    """Where the recording file lives, and which system name it plays."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    fail_every: int = 0  # inject a transient failure on every n-th upsert call (0: never); for resilience drills
