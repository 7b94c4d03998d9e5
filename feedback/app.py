"""`create_app(settings)`: the only place the web application is assembled.

Nothing is built at import time. The lifespan owns the engine (and, when running the demo, the
in-process worker); tests hand in their own settings, engine and clock.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Litestar, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import File
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.engine import Engine

from feedback import deps
from feedback.auth.permissions import allow
from feedback.auth.service import configure_password_hashing
from feedback.configuration.service import seed as seed_rules
from feedback.db import check_schema, make_engine, migrate, transaction
from feedback.edge import EdgeMiddleware
from feedback.errors import error_handler
from feedback.integrations.service import sync_settings_endpoints
from feedback.openapi import document
from feedback.settings import Settings
from feedback.web.security import security_headers
from surveys.service import ensure_builtin_surveys
from surveys.types import utcnow

log = logging.getLogger(__name__)
HERE = Path(__file__).parent

# Each module exposes `routes`: a list of handlers/controllers/routers.
ROUTE_MODULES = [
    "feedback.web.survey",
    "feedback.web.staff",
    "feedback.ingest.endpoints",
    "feedback.kpis",
    "feedback.demo",
    "feedback.recovery.endpoints", "feedback.recovery.pages",
    "feedback.web.outreach",
    "feedback.inbound.webhooks", "feedback.inbound.api",
    "feedback.insights.endpoints", "feedback.insights.pages",
    "feedback.reports.endpoints", "feedback.reports.pages",
    "feedback.health.endpoints", "feedback.health.pages",
    "feedback.privacy.endpoints", "feedback.privacy.pages",
    "feedback.operations.endpoints", "feedback.operations.pages",
    "feedback.auth.endpoints", "feedback.auth.pages",
    "feedback.integrations.endpoints", "feedback.integrations.pages",
    "feedback.integrations.inbound", "feedback.integrations.imports",
    "feedback.configuration.endpoints", "feedback.configuration.pages",
    "feedback.configuration.policy_pages", "feedback.configuration.branding",
    "feedback.configuration.survey_pages",
]


@get("/health", sync_to_thread=False, guards=[allow("public.health")], include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/favicon.ico", sync_to_thread=False, guards=[allow("public.static")], include_in_schema=False,
     cache_control=CacheControlHeader(max_age=86400))
def favicon() -> File:
    return File(HERE / "static" / "favicon.ico", media_type="image/x-icon",
                content_disposition_type="inline")


def _api_docs() -> tuple[SwaggerRenderPlugin, Any]:
    """The `/schema` page and its assets, served from an installed package: the docs work
    offline and load nothing from a CDN (no fonts, no scripts, no favicon from elsewhere)."""
    from swagger_ui_bundle import swagger_ui_path

    base = "/static/api-docs"
    plugin = SwaggerRenderPlugin(
        js_url=f"{base}/swagger-ui-bundle.js", css_url=f"{base}/swagger-ui.css",
        standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/favicon.ico'>", path="/")
    assets = create_static_files_router(path=base, directories=[swagger_ui_path],
                                        include_in_schema=False, guards=[allow("public.docs")])
    return plugin, assets


def _routes() -> list[Any]:
    handlers: list[Any] = [health, favicon]
    for name in ROUTE_MODULES:
        handlers.extend(importlib.import_module(name).routes)
    return [deps.bind_transactions(h) for h in handlers]


def prepare_database(settings: Settings, engine: Engine) -> None:
    if settings.auto_migrate:
        migrate(engine)
    else:
        check_schema(engine)
    with transaction(engine) as session:
        ensure_builtin_surveys(session)
        # The breach webhook / Slack URLs of the settings are event subscriptions (one system).
        sync_settings_endpoints(session, settings, utcnow())
        # Distribution rules start as FEEDBACK_SURVEY_RULES said, once; later edits are kept.
        seed_rules(session, settings, utcnow())


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
    lifespan_hooks: list[Callable[[Litestar], Any]] | None = None,
) -> Litestar:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or make_engine(settings.database_url)
        prepare_database(settings, app.state.engine)
        document(app)
        stops = []
        # e.g. the demo's in-process worker: a hook starts it and returns how to stop it.
        for hook in lifespan_hooks or []:
            stop = hook(app)
            if callable(stop):
                stops.append(stop)
        try:
            yield
        finally:
            for stop in reversed(stops):
                stop()
            if own_engine:
                app.state.engine.dispose()

    def _engine_callback(jinja: JinjaTemplateEngine) -> None:
        from feedback.web import templating

        templating.configure(jinja.engine, settings)

    configure_password_hashing(settings.password_scrypt_log_n)
    secret = hashlib.sha256(settings.secret_key.encode()).digest()
    docs, docs_assets = _api_docs()
    # The cookie only carries the id of a server-side session (feedback/auth/sessions.py),
    # which decides the idle timeout and the absolute lifetime.
    session_config = CookieBackendConfig(secret=secret, httponly=True, samesite="lax",
                                         max_age=int(settings.session_hours * 3600),
                                         secure=settings.public_url.startswith("https"))
    return Litestar(
        route_handlers=[
            # One Router: Litestar re-registers a path's earlier handlers each time another
            # handler joins that path one by one, and re-wraps sync handlers (a coroutine leaks
            # out). Registering them together avoids that.
            Router(path="/", route_handlers=_routes()),
            create_static_files_router(path="/static", directories=[HERE / "static"],
                                       include_in_schema=False, guards=[allow("public.static")]),
            docs_assets,
        ],
        state=State({"settings": settings, "clock": clock or utcnow}),
        dependencies={
            "db": Provide(deps.provide_db, sync_to_thread=False),
            "now": Provide(deps.provide_now, sync_to_thread=False),
            "settings": Provide(deps.provide_settings, sync_to_thread=False),
        },
        lifespan=[lifespan],
        middleware=[security_headers(settings.public_url.startswith("https")),
                    session_config.middleware, EdgeMiddleware()],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="csrftoken",
            cookie_secure=settings.public_url.startswith("https"),
            # Customer pages are reached by an unguessable token, webhooks are signed and the
            # API refuses cookie-authenticated writes: none of them can be ridden cross-site.
            exclude=["/api", "/webhooks", "/s/", "/u/", "/schema"],
        ),
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine,
            engine_callback=_engine_callback,
        ),
        openapi_config=OpenAPIConfig(
            title="Feedback", version="0.1.0", path="/schema",
            description="Closed-loop customer feedback API", render_plugins=[docs],
            # Its own router so the document's routes declare an action like every other.
            # The document's own pages are not part of the API it describes.
            openapi_router=Router(path="/schema", route_handlers=[], include_in_schema=False,
                                  guards=[allow("public.docs")])),
        exception_handlers={Exception: error_handler},
        # Logging is configured once per process (feedback.logs), not by the framework: its
        # default would replace the root handler with a second format.
        logging_config=None,
        debug=settings.debug,
    )
