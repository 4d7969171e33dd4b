"""Interactive API documentation served without any CDN: Swagger UI at ``/docs``.

FastAPI's own ``/docs`` and ``/redoc`` pages load their JavaScript, CSS and favicon from public CDNs
(and ReDoc its fonts from Google), so they are blank on a machine without internet access and leak the
reader's address to third parties. :func:`install_docs` serves Swagger UI from files shipped by the
installed PyPI package ``fastapi-offline`` (the Swagger UI 5 bundle and stylesheet and a favicon):
nothing is fetched from outside the service, and nothing third-party is committed to this repository.

``/redoc`` is switched off (404): the ReDoc 2 bundle always loads its attribution logo from the
vendor's CDN, which would reveal every reader to a third party.

Routes (all left out of the OpenAPI document):

* ``GET /static/swagger/<file>``: the packaged assets (``swagger-ui-bundle.js``, ``swagger-ui.css``,
  ``favicon.png``), with ``ETag``/``Last-Modified`` from the files;
* ``GET /docs``: Swagger UI on ``app.openapi_url``, with ``app.swagger_ui_parameters``;
* ``GET /docs/oauth2-redirect`` (``app.swagger_ui_oauth2_redirect_url``): Swagger UI's OAuth2 helper.

Every URL honours the ASGI ``root_path`` (a service mounted under a prefix behind a proxy).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

#: URL prefix of the packaged documentation assets.
STATIC_PREFIX: Final = "/static/swagger"
#: Route name of the asset mount (``app.url_path_for(STATIC_NAME, path=...)``).
STATIC_NAME: Final = "swagger-static"
#: The installed package that ships the assets, and its folder holding them.
ASSET_PACKAGE: Final = "fastapi_offline"
ASSET_FOLDER: Final = "static"
#: The asset files the pages load (relative to :data:`STATIC_PREFIX`).
SWAGGER_JS: Final = "swagger-ui-bundle.js"
SWAGGER_CSS: Final = "swagger-ui.css"
FAVICON: Final = "favicon.png"
#: Where Swagger UI is served; FastAPI's ReDoc page (removed) was at :data:`REDOC_URL`.
DOCS_URL: Final = "/docs"
REDOC_URL: Final = "/redoc"


def asset_dir() -> Path:
    """The folder of the installed asset package holding the documentation assets.

    Raises :class:`RuntimeError` naming the missing package or file when the install is incomplete (the
    service would otherwise start with blank documentation pages)."""
    spec = find_spec(ASSET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"API docs: the package {ASSET_PACKAGE!r} (PyPI: fastapi-offline) is not installed; "
            "it ships the Swagger UI files served at /docs"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / ASSET_FOLDER
    for name in (SWAGGER_JS, SWAGGER_CSS, FAVICON):
        if not (folder / name).is_file():
            raise RuntimeError(f"API docs: {folder / name} is missing from the installed {ASSET_PACKAGE}")
    return folder


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from packaged assets and switch ``/redoc`` off (see the module
    docstring).

    Any page FastAPI registered itself at ``app.docs_url``, ``app.redoc_url`` or the OAuth2 redirect URL
    (the CDN-backed defaults, when the app was not built with ``docs_url=None, redoc_url=None``) is
    removed first; ``app.docs_url`` is set to the new page and ``app.redoc_url`` to ``None``. The asset
    mount is placed first in the route table so that a broader ``/static`` mount added by other code
    cannot shadow it. Calling it again replaces what the first call installed. Raises
    :class:`RuntimeError` when the assets are not installed, or when ``app.openapi_url`` is ``None``
    (there would be no document to show)."""
    if app.openapi_url is None:
        raise RuntimeError("API docs: app.openapi_url is None, so there is no OpenAPI document to show")
    folder = asset_dir()
    openapi_url = app.openapi_url
    oauth2_url = app.swagger_ui_oauth2_redirect_url or f"{DOCS_URL}/oauth2-redirect"
    replaced = {u for u in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if u}
    replaced |= {DOCS_URL, REDOC_URL, oauth2_url}
    app.router.routes[:] = [r for r in app.router.routes if not _serves(r, replaced)]
    app.router.routes.insert(0, Mount(STATIC_PREFIX, app=StaticFiles(directory=folder), name=STATIC_NAME))
    app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url = DOCS_URL, None, oauth2_url
    title = app.title

    @app.get(DOCS_URL, include_in_schema=False, response_class=HTMLResponse)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} – API (Swagger UI)",
            swagger_js_url=f"{root}{STATIC_PREFIX}/{SWAGGER_JS}",
            swagger_css_url=f"{root}{STATIC_PREFIX}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{root}{STATIC_PREFIX}/{FAVICON}",
            oauth2_redirect_url=f"{root}{oauth2_url}",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(oauth2_url, include_in_schema=False, response_class=HTMLResponse)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def _serves(route: BaseRoute, paths: set[str]) -> bool:
    """Whether ``route`` is to be replaced: a page route at one of ``paths``, or this module's asset
    mount from an earlier call (other mounts are kept)."""
    if isinstance(route, Mount):
        return route.name == STATIC_NAME
    return getattr(route, "path", None) in paths


def _root(request: Request) -> str:
    """The ASGI ``root_path`` of the request, without a trailing slash ('' when served at the root)."""
    root = request.scope.get("root_path", "")
    return str(root).rstrip("/")
