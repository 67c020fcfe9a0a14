"""tusk: Pachyderm-compatible pipeline jobs and datums on one machine. Python client."""

from tusk.client import Client
from tusk.errors import TuskError

__all__ = ["Client", "TuskError"]
