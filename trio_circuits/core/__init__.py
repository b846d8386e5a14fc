"""The event/component core: events, handlers, components, the dispatcher, values,
timers, the debugger and workers."""

from .app import open_app as open_app
from .app import run as run
from .components import BaseComponent as BaseComponent
from .components import Component as Component
from .debugger import Debugger as Debugger
from .events import Event as Event
from .handlers import handler as handler
from .handlers import reprhandler as reprhandler
from .manager import Manager as Manager
from .manager import TimeoutError as TimeoutError
from .manager import sleep as sleep
from .timers import Timer as Timer
from .values import Value as Value
from .workers import Worker as Worker
from .workers import task as task

__all__ = [
    "BaseComponent",
    "Component",
    "Debugger",
    "Event",
    "Manager",
    "TimeoutError",
    "Timer",
    "Value",
    "Worker",
    "handler",
    "open_app",
    "reprhandler",
    "run",
    "sleep",
    "task",
]
