"""Which role each route needs: the one table the access middleware reads.

Keyed by method and the route's path pattern as registered. The README's route table
is this table in prose; ``tests/e2e/test_access_routes.py`` walks every registered
route with no credentials, a viewer's, an operator's and an admin's.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from aiohttp import web

from ..access.roles import Role


@dataclass(frozen=True)
class Rule:
    role: Role | None  # None: public (or governed by ``setting``)
    camera: bool = False  # the route's {name} (or the page's ?camera=) must be allowed
    camera_query: bool = False
    page: bool = False  # a person's page: no credentials -> the login page
    limit: str | None = None  # a per-address rate limit: "whep" | "login"
    setting: str | None = None  # governed by [auth] health / metrics: open | token | off
    # ``?token=`` counts: pages, and the JPEG routes, whose clients (Home Assistant's MJPEG
    # camera, NVRs) can be given a URL but no header.
    query_token: bool = False


PUBLIC = Rule(None)
VIEWER = Rule(Role.VIEWER, camera=True)
OPERATOR = Rule(Role.OPERATOR, camera=True)
ADMIN = Rule(Role.ADMIN)
PAGE = Rule(Role.VIEWER, camera=True, camera_query=True, page=True, query_token=True)
JPEG = Rule(Role.VIEWER, camera=True, query_token=True)
WHEP = Rule(Role.VIEWER, camera=True, limit="whep")

RULES: MappingProxyType[tuple[str, str], Rule] = MappingProxyType(
    {
        ("GET", "/"): PAGE,
        ("GET", "/kiosk"): PAGE,  # ?cameras=a,b: the handler checks each
        ("GET", "/cameras/{name}"): PAGE,
        ("GET", "/login"): PUBLIC,
        ("POST", "/login"): Rule(None, limit="login"),
        ("POST", "/logout"): PUBLIC,
        ("GET", "/static/{path}"): PUBLIC,
        # WHEP; CORS preflights carry no credentials, by the Fetch standard.
        ("POST", "/whep"): Rule(Role.VIEWER, limit="whep"),  # the default camera: handler
        ("OPTIONS", "/whep"): PUBLIC,
        ("POST", "/cameras/{name}/whep"): WHEP,
        ("OPTIONS", "/cameras/{name}/whep"): PUBLIC,
        # Only its owner or an admin ends a session: checked by the WHEP handler.
        ("DELETE", "/cameras/{name}/whep/{session}"): VIEWER,
        ("PATCH", "/cameras/{name}/whep/{session}"): VIEWER,
        ("OPTIONS", "/cameras/{name}/whep/{session}"): PUBLIC,
        ("GET", "/cameras/{name}/snapshot.jpg"): JPEG,
        ("GET", "/cameras/{name}/stream.mjpg"): JPEG,
        ("GET", "/api/me"): Rule(Role.VIEWER),
        ("GET", "/api/cameras"): Rule(Role.VIEWER),  # lists the cameras the identity may use
        ("GET", "/api/cameras/{name}"): VIEWER,
        ("POST", "/api/cameras/{name}/control"): OPERATOR,
        ("GET", "/api/cameras/{name}/processors"): VIEWER,
        ("PUT", "/api/cameras/{name}/processors"): OPERATOR,
        ("POST", "/api/cameras/{name}/processors"): OPERATOR,
        ("GET", "/api/sessions"): ADMIN,
        ("DELETE", "/api/sessions/{id}"): ADMIN,
        ("GET", "/api/audit"): ADMIN,
        ("GET", "/metrics"): Rule(None, setting="metrics"),
        ("GET", "/healthz"): Rule(None, setting="health"),
        ("GET", "/readyz"): Rule(None, setting="health"),
    }
)


def rule_for(request: web.Request) -> Rule | None:
    """The rule of the route this request matched; unmatched requests (404, 405) are public:
    they reach nothing."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or getattr(request.match_info, "http_exception", None) is not None:
        return PUBLIC
    method = "GET" if request.method == "HEAD" else request.method
    return RULES.get((method, resource.canonical))
