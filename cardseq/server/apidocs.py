"""The interactive API page at ``/docs``: Swagger UI over the server's OpenAPI document.

Its scripts and styles are the files of the ``swagger-ui-bundle`` package, served by
this server: never a CDN, since a server may have no internet, and a page that loads
code from another host runs whatever that host sends. The page is public, as the
document it shows is (``/openapi.json``); "Try it out" sends the credentials typed into
its Authorize dialog, and the API checks them as it checks any client's. A strict
Content-Security-Policy lets the page load nothing but these files and the document,
and run no inline script: its own start-up code is a file too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from swagger_ui_bundle import swagger_ui_path

DOCS = "/docs"
#: only this server's files and the document: no other host, no inline script or style,
#: no frames, forms or plugins (Swagger UI's own icons are data: images in its CSS)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: the package's files the page uses, and their media types
_BUNDLED = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
#: the page's start-up code: the document's URL relative to the page (right behind a
#: proxy that serves the API under a path), no validator (it calls another host), and
#: no reading of its configuration from the page's query (``?url=`` would show a
#: document from elsewhere under this server's name)
_START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    queryConfigEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cardseq API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/start.js"></script>
</body>
</html>
"""


#: the page's own start-up code, a file like the others
_START_FILE = "start.js"
#: the paths anyone may fetch, as ``/openapi.json`` (rate limited by address)
PATHS = frozenset([DOCS, *(f"{DOCS}/{name}" for name in (*_BUNDLED, _START_FILE))])


def _endpoint(body: bytes, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    """A route answering ``body``, or 304 to a client that holds this version (ETag)."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**_HEADERS, "ETag": tag, "Cache-Control": "no-cache"}

    async def answer(request: Request) -> Response:
        if tag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=media_type)

    return answer


def routes() -> list[Route]:
    """The page and its files (about 1.2 MB, read once), a GET route each."""
    bodies = {
        f"{DOCS}/{name}": ((swagger_ui_path / name).read_bytes(), media_type)
        for name, media_type in _BUNDLED.items()
    }
    bodies[f"{DOCS}/{_START_FILE}"] = (_START.encode(), "text/javascript; charset=utf-8")
    bodies[DOCS] = (_PAGE.encode(), "text/html; charset=utf-8")
    assert set(bodies) == PATHS
    return [Route(path, _endpoint(*answer), methods=["GET"]) for path, answer in bodies.items()]


__all__ = ["CSP", "DOCS", "PATHS", "routes"]
