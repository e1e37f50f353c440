"""A small listener registry: how a lower layer tells a higher one that something happened.

Imports point one way (docs/architecture.md): the domain apps never import the engine. When approvals must tell
the engine that a request was decided, or ``events.emit`` must reach audit and webhooks, the lower module owns a
``Listeners`` channel and calls ``notify``; the higher app subscribes in its ``AppConfig.ready``. Listeners run
synchronously, in subscription order, inside the notifier's transaction, and their exceptions propagate: a failed
listener rolls the whole change back, exactly as a direct call would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


class Listeners(Generic[F]):
    """The subscribers of one channel: callables of type ``F`` (the channel's signature, returning nothing).

    ``notify`` has the type ``F`` too, so mypy checks both the subscribers and the notifier against one signature.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[F] = []

    def subscribe(self, listener: F) -> None:
        """Add ``listener`` (a second subscription of the same callable is ignored: ``ready`` may run twice)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: F) -> None:
        """Remove ``listener`` if subscribed (tests)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def subscribers(self) -> tuple[F, ...]:
        return tuple(self._listeners)

    @property
    def notify(self) -> F:
        """Call every subscriber with the arguments, in order; an exception stops the loop and propagates."""
        return cast(F, self._notify_all)

    def _notify_all(self, *args: Any, **kwargs: Any) -> None:
        for listener in tuple(self._listeners):
            listener(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Listeners {self.name}: {len(self._listeners)} subscriber(s)>"
