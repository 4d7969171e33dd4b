"""The site frame: home, sign-in and sign-out, static files, error pages, and the areas' routers."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from autofin.web.render import page
from autofin.web.session import (
    SESSION_COOKIE,
    ForbiddenError,
    SignInRequiredError,
    TooManyRequestsError,
    check_same_origin,
    home_of,
    safe_next,
    token_principal,
)

router = APIRouter(include_in_schema=False)


@functools.cache
def plotly_js_path() -> Path:
    """``plotly.min.js`` inside the installed ``plotly`` package."""
    import plotly  # type: ignore[import-untyped]

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the installed plotly package ({path})")
    return path


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed Python package (cached by the browser for a day)."""
    return FileResponse(
        plotly_js_path(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """What the platform offers each kind of user, with links."""
    return page(request, "home.html")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form (one field: the API token)."""
    return page(request, "login.html", {"next": safe_next(next, ""), "error": None})


@router.post("/login", response_model=None)
def login(
    request: Request, token: Annotated[str, Form(max_length=512)], next: Annotated[str, Form()] = ""
) -> Response:
    """Check the token; on success keep it in the session cookie and go to ``next`` or the role's home."""
    principal = token_principal(request, token.strip()) if check_same_origin(request) else None
    if principal is None:
        values = {"next": safe_next(next, ""), "error": "login.unknown"}
        return page(request, "login.html", values, status_code=401)
    response = RedirectResponse(safe_next(next, home_of(principal.role)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    """Forget the session cookie."""
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _sign_in(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return page(request, "error.html", {"status": 403, "message": "error.forbidden"}, status_code=403)


async def _too_many(request: Request, exc: Exception) -> Response:
    retry = exc.retry_after if isinstance(exc, TooManyRequestsError) else 1
    response = page(request, "error.html", {"status": 429, "message": "error.rate"}, status_code=429)
    response.headers["Retry-After"] = str(retry)
    return response


def not_found_page(request: Request) -> HTMLResponse:
    """The 404 page (a missing record and another dealer's record look the same)."""
    return page(request, "error.html", {"status": 404, "message": "error.not_found"}, status_code=404)


def mount_web(app: FastAPI) -> None:
    """Add the pages, the static files and the page error handlers to ``app``."""
    from autofin.web import analyst, customer, dealer, underwriter

    static = Path(str(resources.files("autofin.web") / "static"))
    app.include_router(router)
    for area in (dealer, customer, underwriter, analyst):
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_exception_handler(SignInRequiredError, _sign_in)
    app.add_exception_handler(ForbiddenError, _forbidden)
    app.add_exception_handler(TooManyRequestsError, _too_many)
