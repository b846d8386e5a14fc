"""trio_circuits: circuits' event-driven component framework, rebuilt on Trio.

An application is a tree of components; events are fired on channels; handlers
(plain or ``async`` functions) react.  See the documentation for a tutorial and a
porting guide from circuits.
"""

from .core import BaseComponent as BaseComponent
from .core import Component as Component
from .core import Debugger as Debugger
from .core import Event as Event
from .core import Manager as Manager
from .core import Timer as Timer
from .core import Value as Value
from .core import Worker as Worker
from .core import handler as handler
from .core import open_app as open_app
from .core import reprhandler as reprhandler
from .core import sleep as sleep
from .core import task as task
from .core.loader import Loader as Loader
from .multicore import run as run

__version__ = "0.1.0"

__all__ = [
    "BaseComponent",
    "Component",
    "Debugger",
    "Event",
    "Loader",
    "Manager",
    "Timer",
    "Value",
    "Worker",
    "__version__",
    "handler",
    "open_app",
    "reprhandler",
    "run",
    "sleep",
    "task",
]
