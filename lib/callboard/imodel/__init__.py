"""iModel, the object users call: a backend behind limits, hooks and events, started as an
actor tree or run inline; hooks and hook actors, StreamChannel, serialization."""

from __future__ import annotations

from ._errors import HookAborted as HookAborted
from ._errors import InvocationError as InvocationError
from ._errors import ModelStopped as ModelStopped
from ._errors import NotRestorable as NotRestorable
from ._errors import ProviderUnavailable as ProviderUnavailable
from ._errors import StreamChannelError as StreamChannelError
from ._hook_actor import HookActor as HookActor
from ._hooks import Hook as Hook
from ._hooks import HookFailed as HookFailed
from ._hooks import HookOptions as HookOptions
from ._hooks import HookPhase as HookPhase
from ._hooks import HookRegistry as HookRegistry
from ._hooks import ObserverFailed as ObserverFailed
from ._hooks import ObserverLagged as ObserverLagged
from ._hooks import StreamChunkReceived as StreamChunkReceived
from ._imodel import iModel as iModel
from ._serialize import ModelConfig as ModelConfig
from ._stream import StreamChannel as StreamChannel

__all__ = [
    "Hook",
    "HookAborted",
    "HookActor",
    "HookFailed",
    "HookOptions",
    "HookPhase",
    "HookRegistry",
    "InvocationError",
    "ModelConfig",
    "ModelStopped",
    "NotRestorable",
    "ObserverFailed",
    "ObserverLagged",
    "ProviderUnavailable",
    "StreamChannel",
    "StreamChannelError",
    "StreamChunkReceived",
    "iModel",
]
