"""``/docs``: Swagger UI 5, every asset served by hapair itself from the ``swagger-ui-py`` package.

Nothing is fetched from a CDN: the page, its scripts, styles and favicons all come from this
process, and a Content-Security-Policy tells the browser to refuse anything that is not
same-origin. The page's configuration lives in a served script (not inline) so that the
policy needs no ``'unsafe-inline'`` for scripts.
"""

from __future__ import annotations

import importlib.util
import mimetypes
from functools import cache
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from hapair.api import pages


@cache
def static_dir() -> Path:
    """The ``swagger-ui-py`` package's assets, found without importing it: its import pulls in
    jinja2 and PyYAML (about 100 modules), which serving files needs neither of."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundException("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


# Only the files the page uses are served (the package also ships the editor and source maps).
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)

# Swagger UI sets inline styles and draws icons from data: URIs; scripts and fetches stay
# same-origin. The validator badge (validator.swagger.io) is switched off in the initializer.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hapair API</title>
<link rel="stylesheet" type="text/css" href="/docs/static/swagger-ui.css">
<link rel="stylesheet" type="text/css" href="/docs/static/index.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/static/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="/docs/static/hapair-init.js" charset="utf-8"></script>
</body>
</html>
"""

INIT_JS = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


@cache
def _asset(name: str) -> bytes:
    return (static_dir() / name).read_bytes()


@get("/docs", include_in_schema=False, sync_to_thread=False)
def docs_page() -> Response[str]:
    """The Swagger UI page."""
    return Response(PAGE, media_type="text/html; charset=utf-8", headers=HEADERS)


@get("/docs/static/{name:str}", include_in_schema=False, sync_to_thread=False)
def docs_asset(name: FromPath[str]) -> Response[bytes]:
    """One Swagger UI asset from the installed package, or the page's initializer."""
    if name == "hapair-init.js":
        return Response(
            INIT_JS.encode(), media_type="text/javascript; charset=utf-8", headers=HEADERS
        )
    if name not in ASSETS:
        raise NotFoundException(f"no docs asset {name!r}")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return Response(
        _asset(name),
        media_type=media_type,
        headers={**HEADERS, "Cache-Control": "public, max-age=3600"},
    )


def handlers() -> list[BaseRouteHandler]:
    """The docs routes and the status page (``GET /``)."""
    return [docs_page, docs_asset, *pages.handlers()]
