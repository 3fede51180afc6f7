"""millpond: a self-hosted log server that speaks the Scalyr / DataSet HTTP API."""

from millpond.clock import Clock, FixedClock, SystemClock
from millpond.errors import MillpondError
from millpond.settings import Settings
from millpond.web import create_app

__version__ = "0.1.0"

__all__ = [
    "Clock",
    "FixedClock",
    "MillpondError",
    "Settings",
    "SystemClock",
    "__version__",
    "create_app",
]
