"""Render index.html: jinja2 (autoescape on) plus the inline stylesheet and script, with a
Content-Security-Policy that allows exactly those two inline blocks by hash."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from passline.errors import InfrastructureError
from passline.report._format import visible_controls

_BLOCK_ID = re.compile(r"[a-z0-9-]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def csp_hash(text: str) -> str:
    """The CSP source expression allowing one inline block: ``'sha256-<base64>'``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(css: str, js: str) -> str:
    """No network at all: only the page's own inline style and script may run."""
    return (f"default-src 'none'; style-src {csp_hash(css)}; script-src {csp_hash(js)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


@functools.cache
def static_text(name: str) -> str:
    """A file of passline/report/static (the page's stylesheet and script)."""
    try:
        return (resources.files("passline.report") / "static" / name).read_text(encoding="utf-8")
    except OSError as exc:  # a broken install (package data missing)
        raise InfrastructureError(
            f"passline/report/static/{name} is missing from the installed package ({exc}); "
            "reinstall passline") from exc


def _finalize(value: Any) -> Any:
    """Applied to every ``{{ value }}`` before escaping: bidi controls made visible."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_controls(value)
    return value


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    return jinja2.Environment(
        finalize=_finalize,
        loader=jinja2.PackageLoader("passline.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def render_index(context: dict[str, Any], data_json: str,
                 blocks: Sequence[tuple[str, str]] = ()) -> str:
    """The report page. ``data_json`` must already be escaped for a script element
    (see :func:`passline.report._payload.cases_json`); ``blocks`` are the compressed
    case data of a large report, ``(element id, base64 text)`` (see
    :mod:`passline.report._chunks`)."""
    from markupsafe import Markup

    for name, text in blocks:  # base64 only: nothing in it can close the element
        if not _BLOCK_ID.fullmatch(name) or not _BASE64.fullmatch(text):
            raise ValueError(f"case block {name[:40]!r} is not an id with base64 text")

    css = static_text("report.css")
    js = static_text("report.js")
    template = environment().get_template("index.html.j2")
    return template.render(**context, css=Markup(css), js=Markup(js),
                           csp=Markup(content_security_policy(css, js)),
                           data_json=Markup(data_json),
                           case_blocks=[(name, Markup(text)) for name, text in blocks])
