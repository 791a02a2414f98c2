"""What every page load shares: its session, the app's navigation, links that keep the session,
and the app's JSON API asked in-process with the page load's session token."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from jinja2 import pass_context
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from admin.context import AdminContext
from admin.roles import Member, may
from admin.session import Refused, Session
from storepulse.contracts import ShopSettings

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str
    within: tuple[str, ...] = ()  # pages that belong to this section (a customer to Customers)


# The app's navigation. Later sections (languages, audit log, import, sync, analytics) add
# themselves here when they exist: the menu never links to a page that is not there.
NAV: tuple[NavItem, ...] = (
    NavItem("Home", "home"),
    NavItem("Customers", "customers", ("customer",)),
    NavItem("VIP program", "vip"),
    NavItem("Notifications", "notification_settings"),
    NavItem("Analytics", "analytics"),
    NavItem("Languages", "languages"),
    NavItem("Imports", "imports", ("import",)),
    NavItem("Audit log", "audit"),
    NavItem("Roles", "roles"),
    NavItem("API keys", "event_keys"),
)
# Query parameters of Shopify's embedded launch that every link keeps (the session token among them).
SESSION_PARAMS = ("id_token", "shop", "host", "embedded", "locale")


class ApiFailed(Exception):
    """The app's API could not answer a page's question (the worker or Shopify was away)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _reason(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("error"))
    except ValueError:
        return f"status {answer.status_code}"


class Api:
    """The app's JSON API as a page load asks it: in-process, with the page's session token."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, ok: tuple[int, ...] = ()
    ) -> Any:
        """The answer's JSON; statuses in `ok` are answers too (a 422 names what is wrong)."""
        return self._answer(await self._http.get(path, params=params, headers=self._headers), ok)

    async def put(self, path: str, body: Any, *, ok: tuple[int, ...] = ()) -> Any:
        answer = await self._http.put(path, content=orjson.dumps(body), headers=self._headers)
        return self._answer(answer, ok)

    async def send(self, method: str, path: str, *, ok: tuple[int, ...] = (), **request: Any) -> Any:
        """Any other request (`request`: httpx's `files`, `data`, `json`…)."""
        return self._answer(await self._http.request(method, path, headers=self._headers, **request), ok)

    async def settings(self) -> ShopSettings:
        return ShopSettings.model_validate(await self.get("/api/settings"))

    @staticmethod
    def _answer(answer: httpx.Response, ok: tuple[int, ...]) -> Any:
        if answer.is_success or answer.status_code in ok:
            return answer.json()
        if answer.status_code in (401, 403):
            raise Refused(answer.status_code, _reason(answer))
        raise ApiFailed(answer.status_code, _reason(answer))


IN_PROCESS = "http://app"


class _NotInProcess(logging.Filter):
    """A page asking its own API is no network request: httpx's line for it says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return IN_PROCESS not in record.getMessage()


_NOT_IN_PROCESS = _NotInProcess()


class InProcess:
    """Clients that call an ASGI app directly, without a socket: one per app."""

    def __init__(self) -> None:
        self._clients: dict[int, httpx.AsyncClient] = {}
        logging.getLogger("httpx").addFilter(_NOT_IN_PROCESS)  # once: the same filter is kept once

    def client(self, app: ASGIApp) -> httpx.AsyncClient:
        if id(app) not in self._clients:
            transport = httpx.ASGITransport(app=app)
            self._clients[id(app)] = httpx.AsyncClient(
                transport=transport, base_url=IN_PROCESS, trust_env=False
            )
        return self._clients[id(app)]


class View:
    """One page load: its session, its links, and the API as its session may ask it."""

    def __init__(
        self, ctx: AdminContext, name: str, request: Request, session: Session, api: Api, member: Member
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.request = request
        self.session = session
        self.api = api
        self.member = member  # the staff member: pages show only what their role may do
        self.kept = {k: v for k in SESSION_PARAMS if (v := request.query_params.get(k))}

    @property
    def posted(self) -> bool:
        return self.request.method == "POST"

    def url(self, name: str, **params: Any) -> str:
        """The path of page `name` with the session's launch parameters and `params` (path
        parameters of the route fill its path; the rest, when not empty, go in the query)."""
        route = next(r for r in self.request.app.routes if getattr(r, "name", None) == name)
        path_params = {k: params.pop(k) for k in list(params) if k in route.param_convertors}
        return self._with_query(self.request.url_for(name, **path_params).path, params)

    def api_url(self, name: str, **params: Any) -> str:
        """The path of `/app/api/{name}`, for the browser (downloads carry the session token)."""
        return self._with_query(f"{self.request.scope.get('root_path', '')}/api/{name}", params)

    def _with_query(self, path: str, params: Mapping[str, Any]) -> str:
        query = {**self.kept, **{k: v for k, v in params.items() if v not in (None, "")}}
        return f"{path}?{urlencode(query)}" if query else path

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        nav = [
            {
                "label": i.label,
                "href": self.url(i.route),
                # App Bridge's menu (ui-nav-menu) loads the app at a path with a fresh launch.
                "path": self.request.url_for(i.route).path,
                "current": self.name in (i.route, *i.within),
            }
            for i in NAV
        ]
        page = self.ctx.templates.TemplateResponse(
            self.request,
            template,
            {
                "shop": self.session.shop,
                "api_key": self.ctx.settings.shopify_api_key,
                # No Shopify admin around the dev stack, so no App Bridge (it would leave for one).
                "app_bridge": not self.ctx.settings.dev_auto_install,
                "id_token": self.request.query_params.get("id_token", ""),
                "nav": nav,
                "member": self.member,
                # What the page offers the member: forms only for those whose role may send them.
                "may_change": may(self.member.role, "POST", "/api/settings") is None,
                "may_give_roles": self.member.role == "owner",
                "url": self.url,
                "api_url": self.api_url,
                **context,
            },
            status_code=status,
        )
        page.headers.update(self.session.page_headers)
        return page


def open_from_admin(ctx: AdminContext, request: Request, reason: str, status: int) -> Response:
    """The page for a load without a session: the app opens from the Shopify admin."""
    return ctx.templates.TemplateResponse(
        request, "open_from_admin.html", {"reason": reason}, status_code=status
    )


def static_urls(ctx: AdminContext) -> None:
    """`static(name)` in templates: a static file's path with its content hash, so browsers may
    cache it for good and a changed file gets a new URL."""
    versions = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC.iterdir() if p.is_file()
    }

    @pass_context
    def static(context: Mapping[str, Any], name: str) -> str:
        return f"{context['request'].url_for('static', path=name).path}?v={versions[name]}"

    ctx.templates.env.globals["static"] = static


PageHandler = Callable[["View"], Awaitable[Response]]


class Pages:
    """Page endpoints: each load's session (the Shopify admin's bounce page when it has none)
    and staff member, then its handler with a `View`; a refusal or an unavailable API shown as a page."""

    def __init__(self, ctx: AdminContext) -> None:
        self._ctx = ctx
        self._in_process = InProcess()

    def __call__(self, name: str, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        ctx = self._ctx

        async def endpoint(request: Request) -> Response:
            if ctx.auth is None:
                return open_from_admin(ctx, request, "the app is not configured", 503)
            try:
                session = await ctx.auth.page(request)
            except Refused as exc:
                return open_from_admin(ctx, request, exc.reason, exc.status)
            if isinstance(session, Response):
                return session
            api = Api(self._in_process.client(request.app), request.query_params.get("id_token", ""))
            view = View(ctx, name, request, session, api, await ctx.staff.member(session))
            try:
                return await handler(view)
            except Refused as exc:
                return open_from_admin(ctx, request, exc.reason, exc.status)
            except ApiFailed as exc:
                return view.render(
                    "unavailable.html", 503, title="Unavailable", reason=exc.reason, tone="critical"
                )

        return endpoint
