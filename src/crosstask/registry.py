"""The one registry type: named entries, each an object or a lazy ``"module:attr"`` target.

A lazy target is imported on first use (the lm-evaluation-harness pattern), so a registry
lists heavy or higher-up entries without importing them, and a module that registers
itself never has to be imported by the registry (no import circles). Unknown names are
one-line errors that list the known ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar, overload

from crosstask.errors import CrosstaskError

T = TypeVar("T")
N = TypeVar("N", bound=Iterable[str])


class Registry(Generic[T]):
    """Entries of one kind by name, in registration order.

    ``kind`` names the entry in errors ("unknown task 'x'; known tasks: a, b");
    ``known`` is the word before the list (default: ``kind`` + "s").
    """

    def __init__(self, kind: str, *, known: str | None = None):
        self.kind = kind
        self.known = known if known is not None else f"{kind}s"
        self._entries: dict[str, T | str] = {}

    @overload
    def register(self, name: str, target: T | str, *, overwrite: bool = False) -> T | str: ...

    @overload
    def register(self, name: str, target: None = None, *, overwrite: bool = False) -> Callable[[T], T]: ...

    def register(self, name: str, target: Any = None, *, overwrite: bool = False) -> Any:
        """Register ``target`` (an object, or a ``"module:attr"`` string imported on first use)
        under ``name``; without ``target``, a decorator."""
        if target is None:

            def deco(obj: T) -> T:
                self.register(name, obj, overwrite=overwrite)
                return obj

            return deco
        if name in self._entries and not overwrite:
            raise CrosstaskError(f"{self.kind} {name!r} is already registered")
        if isinstance(target, str) and ":" not in target:
            raise CrosstaskError(f"lazy {self.kind} target {target!r} must be 'module:attribute'")
        self._entries[name] = target
        return target

    def unknown_message(self, name: object) -> str:
        return f"unknown {self.kind} {name!r}; known {self.known}: {', '.join(self.names(sort=True))}"

    def check(self, name: str) -> str:
        """``name`` if it is registered (nothing is imported), else a ``ValueError`` that pydantic
        reports with its key path: for config validators."""
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(self.unknown_message(name))
        return name

    def check_all(self, names: N) -> N:
        """``names`` (a list, or a mapping's keys) if every one is registered: a config validator."""
        for name in names:
            self.check(name)
        return names

    def get(self, name: str) -> T:
        try:
            entry = self._entries[name]
        except (KeyError, TypeError):
            raise CrosstaskError(self.unknown_message(name)) from None
        if isinstance(entry, str):
            entry = self._entries[name] = _import_target(entry)
        return entry

    def names(self, *, sort: bool = False) -> list[str]:
        return sorted(self._entries) if sort else list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def snapshot(self) -> dict[str, T | str]:
        """The entries as registered (lazy targets not imported), e.g. to restore after a test."""
        return dict(self._entries)

    def restore(self, entries: dict[str, T | str]) -> None:
        self._entries = dict(entries)


def _import_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
