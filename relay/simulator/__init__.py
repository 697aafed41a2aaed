"""A simulated ESP32-CAM speaking the CameraWebServer wire protocol byte for byte.

Two servers, like the board: a control server (``/``, ``/status``, ``/control``,
``/capture``, ``/bmp`` and the expert endpoints) and a stream server (``/stream``,
multipart JPEG sent as HTTP chunks the way ``httpd_resp_send_chunk`` does). Like the
board, the stream server serves one client at a time and the control server handles
one request at a time. Faults of real boards (:class:`Faults`) can be switched while
it runs, by assigning a new ``Faults`` to ``SimulatedCamera.options.faults``.

Modules: ``board`` (the board's life), ``controlserver``, ``streamserver``, ``httpd``
(HTTP as esp_http_server writes it), ``sensor`` (settings as /status and /control see
them), ``scene`` (the picture), ``faults``, ``options``, ``cli``.
"""

from .board import SimulatedCamera
from .faults import Faults
from .options import SimulatorConfig, SimulatorOptions

__all__ = ["Faults", "SimulatedCamera", "SimulatorConfig", "SimulatorOptions"]
