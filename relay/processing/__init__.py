"""Processing: OpenCV stages between decode and encode, run in the camera's worker thread.

``processors/`` holds what a processor is and the built-ins; ``chain`` the
immutable chain the pipeline calls; ``service`` a camera's chain changed live,
with its events; ``metrics`` the stages' timings in Prometheus text.

A user processor subclasses :class:`Processor`::

    from relay.processing import FrameContext, Param, Processor
"""

from .processors import Emit, Event, FrameContext, Param, ParamError, Processor

__all__ = ["Emit", "Event", "FrameContext", "Param", "ParamError", "Processor"]
