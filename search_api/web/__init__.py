"""The web interface: server-rendered pages (Jinja2) in Chinese and English, served by the same
FastAPI app as the API. Templates and static files live beside this module; nothing is loaded
from elsewhere at run time."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from search_api.web.render import error_page, wants_html
from search_api.web.views import router


def html_errors(
    request: Request,
    status: int,
    code: str,
    message: str,
    hint: str | None,
    headers: dict[str, str] | None,
) -> Response | None:
    """Errors on pages a browser opened are pages too; the API keeps its JSON envelope."""
    if not wants_html(request):
        return None
    if code == "unauthorized" and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if code == "password_change_required":
        return RedirectResponse("/account/password", status_code=303)
    return error_page(request, status, code, message, hint, headers)


__all__ = ["html_errors", "router"]
