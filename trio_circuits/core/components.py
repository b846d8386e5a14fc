"""``BaseComponent`` and ``Component``: managers whose methods are handlers.

A :class:`BaseComponent` registers the methods marked with ``@handler``;
a :class:`Component` also turns every public method defined in a user subclass into
a handler for the event of the same name.  Handlers are bound when the component is
constructed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Hashable
from types import MethodType
from typing import Any

from .events import Event
from .handlers import class_handlers, handler
from .manager import Manager

__all__ = ["BaseComponent", "Component"]

# Methods a subclass defines for the framework to call, never handlers.
_HOOKS = frozenset({"init", "run_io", "stop_io"})


class BaseComponent(Manager):
    """A component: a node of the tree with a channel and ``@handler`` methods.

    Args:
        channel: the channel this component's handlers listen on and its events go to
            by default (``"*"``: every channel).  May also be a class attribute.
        args: positional arguments for the optional ``init(self, *args, **kwargs)``
            hook.
        kwargs: keyword arguments for ``init`` (``channel=`` included, as circuits
            does); ``max_queued=`` sets :attr:`Manager.max_queued`.

    Components assigned as public attributes (in ``__init__``, in ``init`` or on the
    class) are registered as children automatically.
    """

    channel: Hashable = "*"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._init_manager(kwargs.pop("max_queued", None))
        channel = kwargs.get("channel")
        if channel is not None or "channel" in kwargs:
            self.__dict__["channel"] = channel or "*"
        init = getattr(self, "init", None)
        if init is None:
            extra = dict(kwargs)
            extra.pop("channel", None)
            if args or extra:
                raise TypeError(
                    f"{type(self).__name__}() got unexpected arguments {args!r} {extra!r}"
                )
        for _name, fn in class_handlers(type(self)):
            self._bind_handler(MethodType(fn, self) if inspect.isfunction(fn) else fn)
        for klass in reversed(type(self).__mro__):
            for attr, value in list(vars(klass).items()):
                self._adopt(attr, value)
        if init is not None:
            init(*args, **kwargs)
        self._finish_unregister_by_handler()
        if type(self).__init__ is BaseComponent.__init__:
            self._adopt_attributes()

    def _finish_unregister_by_handler(self) -> None:
        # As circuits: the component leaves the tree in a handler of its own, on its
        # own channel, once ``prepare_unregister`` and its cascade are complete.
        @handler("prepare_unregister_complete", channel=self)
        def _on_prepare_unregister_complete(
            self: BaseComponent, event: Event, e: Event, value: Any
        ) -> None:
            self._finish_unregister(value)

        self.addHandler(_on_prepare_unregister_complete)
        self._node.finishes_unregister = True

    def _adopt(self, attr: str, value: object) -> None:
        if (
            isinstance(value, BaseComponent)
            and not attr.startswith("_")
            and value is not self
            and value.parent is value
            and value is not self.root
        ):
            value.register(self)

    def _adopt_attributes(self) -> None:
        """Register the components assigned as public attributes during construction."""
        for attr, value in list(self.__dict__.items()):
            self._adopt(attr, value)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__init__")
        if own is not None and not getattr(own, "_tc_adopts", False):
            cls.__init__ = _adopting(own)  # type: ignore[method-assign]


def _adopting(init: Any) -> Any:
    """Wrap a subclass's ``__init__``: once the outermost one returns, adopt children.

    Components assigned as attributes anywhere in ``__init__`` (before or after
    ``super().__init__()``) are registered once construction is complete; nothing
    is paid on later attribute assignments (a handler's ``self.count += 1``).
    """

    @functools.wraps(init)
    def __init__(self: BaseComponent, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self).__init__ is __init__:  # the outermost constructor
            self._adopt_attributes()

    __init__._tc_adopts = True  # type: ignore[attr-defined]
    return __init__


class Component(BaseComponent):
    """A :class:`BaseComponent` whose public methods are handlers.

    Every public method (no leading ``_``) defined in a subclass handles the event
    named after it, unless it is marked ``@handler(False)`` or already carries
    ``@handler``.  The hooks ``init``, ``run_io`` and ``stop_io`` are never handlers.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or name in _HOOKS or not inspect.isfunction(value):
                continue
            if hasattr(value, "handler"):
                continue
            setattr(cls, name, handler(name)(value))
