"""An Endpoint used the lionfuncs way: ``async with endpoint:``, ``get_client()``,
``close()``, and one operation of a service per call (``http_path``, ``sdk_method_name``).

``async with endpoint:`` runs the Endpoint actor in a nursery the block owns (the client
of that run is opened on entry, closed on exit); ``get_client()`` is that run's
transport, or the shared inline one when the actor is not running.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, cast

from callboard.actors._block import BlockNursery
from callboard.errors import ConfigError

if TYPE_CHECKING:
    from ._endpoint import Endpoint
    from ._service_config import ServiceEndpointConfig
    from ._transport import Transport

__all__ = ["ClientLifecycle"]


class ClientLifecycle:
    """Endpoint's ``async with``, ``get_client``, ``close`` and ``operation``."""

    _block: BlockNursery | None = None
    _operations: dict[tuple[str | None, ...], Endpoint] | None = None
    service_config: ServiceEndpointConfig | None = None
    """The lionfuncs ServiceEndpointConfig this Endpoint was built from, if it was."""

    async def __aenter__(self) -> Endpoint:
        """Run the Endpoint actor for the block: its client opens now."""
        endpoint = cast("Endpoint", self)
        block = BlockNursery()
        nursery = await block.open()
        try:
            await nursery.start(endpoint.run)
        except BaseException as error:
            await block.close(error)
            raise
        self._block = block
        return endpoint

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._leave(exc)

    async def _leave(self, exc: BaseException | None) -> None:
        endpoint = cast("Endpoint", self)
        block, self._block = self._block, None
        if block is not None:
            if exc is None:
                endpoint.ref.stop()  # graceful: the calls in flight finish on the client
            await block.close(exc)
        await endpoint.aclose()

    async def get_client(self) -> Transport:
        """The client calls go out on: the running actor's, else the shared inline one.

        Raises:
            ConfigError: the transport could not be opened (its settings are wrong).
        """
        endpoint = cast("Endpoint", self)
        generation = endpoint._generation  # pyright: ignore[reportPrivateUsage]
        if generation is not None:
            return generation.transport
        shared = await endpoint._inline.transport()  # pyright: ignore[reportPrivateUsage]
        if shared is None:
            raise ConfigError(
                f"endpoint {endpoint.name!r} could not open its {endpoint.config.transport} "
                "client; a call shows the error",
                field="transport",
            )
        return shared

    async def close(self) -> None:
        """Stop the actor if ``async with`` runs it and close the shared client."""
        await self._leave(None)

    def operation(
        self,
        *,
        http_path: str | None = None,
        http_method: str | None = None,
        sdk_method_name: str | None = None,
    ) -> Endpoint:
        """The Endpoint of one operation of this Endpoint's service (itself when none
        is named or nothing differs); built once per operation and kept.

        Raises:
            ConfigError: no operation can be named here (the Endpoint was built from an
                EndpointConfig, which names its operation), or the operation is invalid.
        """
        endpoint = cast("Endpoint", self)
        if http_path is None and http_method is None and sdk_method_name is None:
            return endpoint
        service = self.service_config
        if service is None:
            raise ConfigError(
                f"endpoint {endpoint.name!r} was built from an EndpointConfig, which names "
                "its path and method; build it from a ServiceEndpointConfig to name them "
                "per call",
                field="http_path",
            )
        key = (http_path, http_method, sdk_method_name)
        kept = self._operations
        if kept is None:
            kept = self._operations = {}
        if key not in kept:
            from ._endpoint import Endpoint

            config = service.endpoint_config(
                http_path=http_path, http_method=http_method, sdk_method_name=sdk_method_name
            )
            if config == endpoint.config:
                return endpoint
            kept[key] = Endpoint(config, executor=endpoint._executor)  # pyright: ignore[reportPrivateUsage]
        return kept[key]
