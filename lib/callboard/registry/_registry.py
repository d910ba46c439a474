"""ServiceRegistry: models by name, and a runtime that supervises all of them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import trio

from callboard.actors import ChildSpec, Restart, Strategy, Supervisor
from callboard.actors._block import BlockNursery
from callboard.errors import ConfigError
from callboard.imodel import iModel
from callboard.imodel._seed_names import other_names

from ._errors import DuplicateModel, ModelNotFound
from ._router import Router

__all__ = ["ServiceRegistry"]


class ServiceRegistry:
    """Models by name; ``async with registry:`` runs them all under one supervisor.

    A [`Router`][callboard.Router] registers like a model: ``registry.get("gpt-4o-mini")`` returns
    it, its tags count for ``list_by_tag()``, and it runs as one subtree.

    Inside the block every registered model is started (its hook actors and Executor
    run as a subtree of the registry's one_for_one Supervisor, so one model's crash
    restarts that model only); models registered inside the block start at once, and
    removed ones stop. Outside the block models run inline.

    Example::

        registry = ServiceRegistry()
        registry.register(iModel(backend=Tool(add)))
        async with registry:
            calling = await registry.get("add").invoke(a=1, b=2)
    """

    def __init__(self, *, name: str = "registry") -> None:
        self.name = name
        self._models: dict[str, iModel | Router] = {}
        self.supervisor: Supervisor | None = None
        self._block: BlockNursery | None = None

    def __repr__(self) -> str:
        return f"<ServiceRegistry {self.name!r} models={len(self._models)}>"

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __iter__(self) -> Iterator[iModel | Router]:
        return iter(list(self._models.values()))

    # -- the catalogue -----------------------------------------------------------------

    def register(
        self, model: iModel | Router, *, name: str | None = None, update: bool = False
    ) -> None:
        """Add ``model`` (an iModel or a Router) under ``name`` (its own name by default).

        Raises:
            ConfigError: ``model`` is neither an iModel nor a Router.
            DuplicateModel: the name is taken and ``update`` is false.
        """
        if not isinstance(model, iModel | Router):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                f"register() takes an iModel or a Router, got {type(model).__name__}; wrap a "
                "backend first: registry.register(iModel(backend=...)) or iModel(provider=...)",
                field="model",
            )
        key = name if name is not None else model.name
        if key in self._models and not update:
            raise DuplicateModel(key)
        self._models[key] = model

    def get(self, name: str) -> iModel | Router:
        """The model (or Router) registered under ``name``.

        A model carrying lionpride's default name (``anthropic_messages``) is also
        found under callboard's spelling of its endpoint (``anthropic:chat``).

        Raises:
            ModelNotFound: nothing is registered under ``name`` (the error lists the names).
        """
        model = self._models.get(name)
        if model is not None:
            return model
        found = [
            m
            for m in self._models.values()
            if isinstance(m, iModel) and name in other_names(m.name, m.backend)
        ]
        if len(found) == 1:
            return found[0]
        raise ModelNotFound(name, self._models)

    def remove(self, name: str) -> iModel | Router:
        """Forget ``name`` and return its model (a running registry stops it next time
        ``sync()`` runs or the block ends).

        Raises:
            ModelNotFound: nothing is registered under ``name``.
        """
        try:
            return self._models.pop(name)
        except KeyError:
            raise ModelNotFound(name, self._models) from None

    def list_names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._models)

    def list_by_tag(self, tag: str) -> list[iModel | Router]:
        """The models whose tags include ``tag``."""
        return [model for model in self._models.values() if tag in model.tags]

    def get_tool_schemas(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        """The function-tool definitions of the Tool-backed models (of ``names`` only,
        when given), ready for a chat request's ``tools``.

        Raises:
            ModelNotFound: a name in ``names`` is not registered.
        """
        models = self._models.values() if names is None else [self.get(n) for n in names]
        return [schema for model in models if (schema := model.tool_schema()) is not None]

    # -- the runtime -------------------------------------------------------------------

    async def sync(self) -> None:
        """Make the running supervisor match the catalogue: start new models, stop
        removed ones. ``async with`` calls it on entry; call it after changes."""
        supervisor = self.supervisor
        if supervisor is None:
            await trio.lowlevel.checkpoint()
            return
        wanted = {_child_id(model): model for model in self._models.values()}
        for info in supervisor.which_children():
            if info.id not in wanted:
                await supervisor.terminate_child(info.id)
                with contextlib.suppress(Exception):
                    await supervisor.delete_child(info.id)
        running = {info.id for info in supervisor.which_children()}
        for child_id, model in wanted.items():
            if child_id not in running:
                await supervisor.start_child(
                    ChildSpec(child_id, model.run, restart=Restart.TRANSIENT)
                )

    async def __aenter__(self) -> Self:
        block = BlockNursery()
        nursery = await block.open()
        supervisor = Supervisor(strategy=Strategy.ONE_FOR_ONE, name=self.name)
        try:
            await nursery.start(supervisor.run)
            self.supervisor = supervisor
            await self.sync()
        except BaseException as error:
            self.supervisor = None
            await block.close(error)
            raise
        self._block = block
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block, self._block = self._block, None
        supervisor, self.supervisor = self.supervisor, None
        assert block is not None and supervisor is not None
        error = exc
        if exc is None:
            try:
                for model in reversed(list(self._models.values())):
                    await model.stop()  # each drains its hook actors, then ends normally
                await supervisor.stop()
            except BaseException as raised:  # e.g. Cancelled: the tree died meanwhile
                error = raised
        # Closed whatever happened, as a nursery is: a block that swallowed the
        # Cancelled of a dying tree still gets the tree's error.
        await block.close(error)
        if error is not None and error is not exc:
            raise error


def _child_id(model: iModel | Router) -> str:
    return f"{model.name}#{model.id}"
