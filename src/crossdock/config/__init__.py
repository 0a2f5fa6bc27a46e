"""Settings: `crossdock.yaml` overridden by `CROSSDOCK_*` environment variables, validated into typed models.

Where the file comes from: `load_settings(path)` (the CLI's `--config`), else `CROSSDOCK_CONFIG`, else
`./crossdock.yaml` if it exists, else only defaults and the environment. Every scalar top-level key can be
overridden by `CROSSDOCK_<KEY>` (`partitions` by `CROSSDOCK_PARTITIONS`); flows, systems and ownership come
from the file only. Relative paths are relative to the working directory.

Secrets never sit in the file: a system setting that holds one is a reference, `env:NAME` or `file:/path`,
resolved only when a connector asks (`SecretRef.resolve`). A literal value under a secret-like key is refused.

Every mistake in the file is reported as `file:line: what is wrong. What to do.` (`ConfigError`). Loading
reads the file and the environment and nothing else: no connection is opened here or at import time.
"""

from __future__ import annotations

# Public names outside `__all__` are re-exported explicitly (`X as X`): `crossdock.config.DEFAULT_NATS_URL` and
# the like are part of the interface too.
from crossdock.config.errors import ConfigError, ConfigProblem
from crossdock.config.errors import Loc as Loc
from crossdock.config.loading import load_settings
from crossdock.config.secret_refs import SecretRef, is_secret_key
from crossdock.config.sections import Criticality as Criticality
from crossdock.config.sections import (
    EventLogBackend,
    FlowConfig,
    FlowSource,
    FlowTarget,
    RetryPolicy,
    SystemConfig,
)
from crossdock.config.sections import Name as Name
from crossdock.config.settings import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL
from crossdock.config.settings import DEFAULT_NATS_URL as DEFAULT_NATS_URL
from crossdock.config.settings import DEFAULT_SQLITE_EVENT_LOG as DEFAULT_SQLITE_EVENT_LOG
from crossdock.config.settings import Settings, redact_url
from crossdock.config.sources import CONFIG_ENV_VAR as CONFIG_ENV_VAR
from crossdock.config.sources import DEFAULT_CONFIG_FILE as DEFAULT_CONFIG_FILE
from crossdock.config.sources import ENV_FIELDS, env_var
from crossdock.config.sources import ENV_PREFIX as ENV_PREFIX
from crossdock.config.sources import EXAMPLE_FILE as EXAMPLE_FILE

__all__ = [
    "ENV_FIELDS",
    "ConfigError",
    "ConfigProblem",
    "EventLogBackend",
    "FlowConfig",
    "FlowSource",
    "FlowTarget",
    "RetryPolicy",
    "SecretRef",
    "Settings",
    "SystemConfig",
    "env_var",
    "is_secret_key",
    "load_settings",
    "redact_url",
]
