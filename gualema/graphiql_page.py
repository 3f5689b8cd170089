"""GraphiQL that works offline: strawberry's page with its CDN assets served by this application.

The page is strawberry's own template with each unpkg.com URL replaced by the copy vendored in
gualema/static/graphiql/ (same bytes: the page's integrity hashes still hold; versions and licences
in its README). A strawberry upgrade that loads anything else fails at start-up, not in a browser.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
PREFIX = "/graphiql-assets"

# The URLs strawberry's graphiql.html loads, and the vendored file serving each.
VENDORED = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom.production.min.js",
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "plugin-explorer.umd.js",
}


class UnvendoredAsset(RuntimeError):
    """strawberry's GraphiQL page loads a file that is not vendored (see static/graphiql/README.md)."""


@lru_cache(maxsize=1)
def offline_graphiql_html() -> str:
    html = get_graphql_ide_html(graphql_ide="graphiql")
    for url, name in VENDORED.items():
        if url not in html:
            raise UnvendoredAsset(f"strawberry's GraphiQL no longer loads {url}")
        html = html.replace(url, f"{PREFIX}/{name}")
    if "https://unpkg.com" in html or "cdn.jsdelivr" in html:
        raise UnvendoredAsset("strawberry's GraphiQL loads an asset from a CDN that is not vendored")
    return html


def graphiql_asset_routes() -> list[BaseRoute]:
    return [Mount(PREFIX, app=StaticFiles(directory=ASSETS), name="graphiql-assets")]
