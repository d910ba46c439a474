"""ServiceRegistry (many models under one supervisor, found by name or tag) and Router
(one model name over many deployments, with failover and fallbacks)."""

from __future__ import annotations

from ._deployment import Deployment as Deployment
from ._errors import DuplicateModel as DuplicateModel
from ._errors import ModelNotFound as ModelNotFound
from ._events import CallingRouted as CallingRouted
from ._events import DeploymentCooling as DeploymentCooling
from ._events import DeploymentRecovered as DeploymentRecovered
from ._events import RouterEvent as RouterEvent
from ._registry import ServiceRegistry as ServiceRegistry
from ._router import Router as Router
from ._strategies import RoutingStrategy as RoutingStrategy

__all__ = [
    "CallingRouted",
    "Deployment",
    "DeploymentCooling",
    "DeploymentRecovered",
    "DuplicateModel",
    "ModelNotFound",
    "Router",
    "RouterEvent",
    "RoutingStrategy",
    "ServiceRegistry",
]
