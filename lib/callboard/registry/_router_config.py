"""A Router's configuration: checked when it is built, and serialized as data.

What a Router serializes to is ``RouterConfig``: its name, strategy and settings,
and each deployment and fallback as its own ``to_dict`` data (an iModel's, or a nested
Router's). Like an iModel's, it holds no identity, no state and no secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from callboard.errors import ConfigError
from callboard.executor._admission import is_int, is_number
from callboard.imodel import iModel
from callboard.serialization import converter, structure

from ._failover import FALLBACK_KINDS

if TYPE_CHECKING:
    from ._router import Router

__all__ = [
    "RouterConfig",
    "check_deployments",
    "check_fallbacks",
    "check_settings",
    "check_weights",
    "reaches",
]

FORMAT = 1


@attrs.frozen(kw_only=True)
class RouterConfig:
    """A Router as data; ``deployments`` and the fallbacks hold each model's own data."""

    format: int = FORMAT
    kind: str = "router"
    name: str
    strategy: str
    weights: list[float] | None = None
    deployments: list[dict[str, Any]]
    fallbacks: list[dict[str, Any]] = attrs.field(factory=list[dict[str, Any]])
    fallback_on: dict[str, list[dict[str, Any]]] = attrs.field(
        factory=dict[str, list[dict[str, Any]]]
    )
    tags: list[str] = attrs.field(factory=list[str])
    cooldown: float = 1.0
    max_cooldown: float = 30.0
    failures_to_cool: int = 3


def to_config(router: Router) -> dict[str, Any]:
    """``to_dict()``."""
    from ._strategies import STRATEGIES

    strategy = router.strategy.name
    if STRATEGIES.get(strategy) is not type(router.strategy):
        raise ConfigError(
            f"router {router.name!r} routes with a strategy of its own "
            f"({type(router.strategy).__name__}), which is code and cannot be serialized; "
            "use a built-in one, or pass it again to Router.from_dict(data, strategy=...)",
            field="strategy",
        )
    cooldown, max_cooldown, failures_to_cool = router.settings
    weights = [d.weight for d in router.deployments]
    config = RouterConfig(
        name=router.name,
        strategy=strategy,
        weights=None if all(w == 1.0 for w in weights) else weights,
        deployments=[d.model.to_dict() for d in router.deployments],
        fallbacks=[target.to_dict() for target in router.fallbacks],
        fallback_on={
            kind: [target.to_dict() for target in targets]
            for kind, targets in router.fallback_on.items()
        },
        tags=sorted(router.tags),
        cooldown=cooldown,
        max_cooldown=max_cooldown,
        failures_to_cool=failures_to_cool,
    )
    data: dict[str, Any] = converter.unstructure(config)
    return data


def from_config(
    data: Mapping[str, Any], *, backends: Mapping[str, Any] | None, strategy: Any
) -> Router:
    """``from_dict()``."""
    from ._router import Router

    config = structure(data, RouterConfig, "a Router configuration")
    if config.format != FORMAT or config.kind != "router":
        raise ConfigError(
            f"Router data format {config.format} ({config.kind!r}) is not supported "
            f"(expected {FORMAT}, 'router')",
            field="format",
        )
    given = dict(backends or {})

    def load(item: Mapping[str, Any]) -> iModel | Router:
        if item.get("kind") == "router":
            return Router.from_dict(item, backends=given)
        return iModel.from_dict(item, backend=given.get(str(item.get("name"))))

    return Router(
        config.name,
        [_model(load(item), config.name) for item in config.deployments],
        strategy=strategy if strategy is not None else config.strategy,
        weights=config.weights,
        fallbacks=[load(item) for item in config.fallbacks],
        fallback_on={
            kind: [load(item) for item in items] for kind, items in config.fallback_on.items()
        },
        tags=config.tags,
        cooldown=config.cooldown,
        max_cooldown=config.max_cooldown,
        failures_to_cool=config.failures_to_cool,
    )


def _model(target: iModel | Router, router: str) -> iModel:
    if not isinstance(target, iModel):
        raise ConfigError(
            f"router {router!r}: a deployment must be an iModel's data, got a Router's",
            field="deployments",
        )
    return target


def check_deployments(models: Sequence[object]) -> list[iModel]:
    """The deployments, checked: at least one, each an iModel, names distinct, one model
    type."""
    if not models:
        raise ConfigError(
            "a Router needs at least one deployment: Router(name, [iModel(...), ...])",
            field="deployments",
        )
    checked: list[iModel] = []
    names: set[str] = set()
    for model in models:
        if not isinstance(model, iModel):
            raise ConfigError(
                f"a deployment is an iModel, got {type(model).__name__}", field="deployments"
            )
        if model.name in names:
            raise ConfigError(
                f"two deployments are named {model.name!r}; give each iModel its own "
                "name= (the finished Calling says which deployment served it by name)",
                field="deployments",
            )
        names.add(model.name)
        checked.append(model)
    kinds = {model_type(model) for model in checked}
    if len(kinds) > 1:
        raise ConfigError(
            f"the deployments serve different model types ({', '.join(sorted(kinds))}); a "
            "Router puts one name over one model type",
            field="deployments",
        )
    return checked


def model_type(model: iModel) -> str:
    """What a deployment serves: its endpoint's kind ("chat", "embeddings", ...) for a
    provider model, else the backend's own ``model_type`` when it declares one, else
    "custom" (the Router cannot tell two custom backends apart)."""
    if model.provider is not None:
        return _ENDPOINT_KINDS.get(model.endpoint, model.endpoint)
    return str(getattr(model.backend, "model_type", "custom"))


# Endpoints that serve the same kind of call (a chat request) under different names.
_ENDPOINT_KINDS = {"chat": "chat", "messages": "chat", "responses": "chat"}


def check_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """One non-negative weight per deployment (all 1.0 when not given)."""
    if weights is None:
        return [1.0] * count
    values = list(weights)
    if (
        len(values) != count
        or any(not is_number(w) or w < 0 for w in values)
        or not any(w > 0 for w in values)
    ):
        raise ConfigError(
            f"weights must be {count} non-negative numbers, one per deployment, at least "
            f"one above 0; got {values!r}",
            field="weights",
        )
    return [float(w) for w in values]


def check_settings(cooldown: float, max_cooldown: float, failures_to_cool: int) -> None:
    """The health settings: positive seconds, and at least one failure."""
    for value, field in ((cooldown, "cooldown"), (max_cooldown, "max_cooldown")):
        if not is_number(value) or not value > 0:
            raise ConfigError(
                f"{field} must be a positive number of seconds, got {value!r}", field=field
            )
    if max_cooldown < cooldown:
        raise ConfigError(
            f"max_cooldown ({max_cooldown}) must be at least cooldown ({cooldown})",
            field="max_cooldown",
        )
    if not is_int(failures_to_cool) or failures_to_cool < 1:
        raise ConfigError(
            f"failures_to_cool must be an int >= 1, got {failures_to_cool!r}",
            field="failures_to_cool",
        )


def check_fallbacks(
    router: Router,
    fallbacks: Sequence[object],
    fallback_on: Mapping[str, Sequence[object]],
) -> None:
    """Fallbacks are iModels or Routers, not the router's own deployments, and no chain
    of fallbacks leads back to ``router``."""
    from ._router import Router

    unknown = sorted(set(fallback_on) - set(FALLBACK_KINDS))
    if unknown:
        raise ConfigError(
            f"unknown fallback kind(s) {unknown}; fallback_on takes {', '.join(FALLBACK_KINDS)}",
            field="fallback_on",
        )
    own = {id(d.model) for d in router.deployments}
    for target in [*fallbacks, *(t for ts in fallback_on.values() for t in ts)]:
        if not isinstance(target, iModel | Router):
            raise ConfigError(
                f"a fallback is an iModel or a Router, got {type(target).__name__}",
                field="fallbacks",
            )
        if id(target) in own:
            raise ConfigError(
                f"{target.name!r} is a deployment of router {router.name!r} and its "
                "fallback; a fallback must be another model",
                field="fallbacks",
            )
    cycle = _cycle(router, [*fallbacks, *(t for ts in fallback_on.values() for t in ts)])
    if cycle:
        raise ConfigError(
            f"fallback cycle: {' -> '.join(repr(name) for name in cycle)}; a chain of "
            "fallbacks must end",
            field="fallbacks",
        )


def _cycle(router: Router, targets: Sequence[object]) -> list[str]:
    """The names along a fallback chain from ``router`` that comes back to a Router on
    it, or ``[]``."""
    from ._router import Router

    path: list[object] = [router]

    def visit(nodes: Sequence[object]) -> list[str]:
        for node in nodes:
            if not isinstance(node, Router):
                continue
            if any(node is seen for seen in path):
                start = next(i for i, seen in enumerate(path) if seen is node)
                return [_name(n) for n in path[start:]] + [node.name]
            path.append(node)
            found = visit([*node.fallbacks, *(t for ts in node.fallback_on.values() for t in ts)])
            if found:
                return found
            path.pop()
        return []

    return visit(targets)


def _name(node: object) -> str:
    return str(getattr(node, "name", node))


def reaches(start: Router, other: Router) -> bool:
    """True when ``other`` is ``start`` or among its fallbacks, at any depth."""
    from ._router import Router

    seen: set[int] = set()
    stack: list[iModel | Router] = [start]
    while stack:
        node = stack.pop()
        if node is other:
            return True
        if isinstance(node, Router) and id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.fallbacks)
            stack.extend(t for ts in node.fallback_on.values() for t in ts)
    return False
