"""callboard: a Trio-native actor runtime for calling AI model APIs and tools at scale."""

from __future__ import annotations

from ._version import __version__ as __version__
from .errors import CallboardError as CallboardError
from .errors import ConfigError as ConfigError
