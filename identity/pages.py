"""The provider's three pages: log in, confirm with a second factor, consent. Plain HTML, and the
words they share (who asks, the demo's hints)."""

from __future__ import annotations

import time
from html import escape

from fastapi.responses import HTMLResponse

from identity.models import Citizen
from identity.policy import ConsentLine
from identity.totp import STEP_SECONDS, totp
from kernel import topology
from kernel.citizens import CITIZEN_APP
from kernel.page_policy import scriptless_page_headers
from kernel.personas import DEMO_PASSWORD, PERSONAS

STYLE = """
body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1d2530}
h1{font-size:1.4rem} .who{color:#555} .error{color:#a40000;font-weight:600}
label{display:block;margin:.8rem 0 .2rem} input[type=text],input[type=password]{width:100%;padding:.5rem}
button{margin-top:1rem;padding:.55rem 1.2rem;font-size:1rem} ul{line-height:1.7} .demo{background:#f4f1e6;
padding:.6rem .9rem;margin-top:2rem;font-size:.9rem}
"""


def client_title(client_id: str) -> str:
    if client_id == CITIZEN_APP:
        return "your own citygate app"
    try:
        return f"the {topology.service(client_id).title}"
    except KeyError:
        return client_id


def demo_login_hint(demo: bool) -> str | None:
    if not demo:
        return None
    names = ", ".join(f"<code>{p.handle}</code>" for p in PERSONAS)
    return f"Demo personas: {names}. Password: <code>{DEMO_PASSWORD}</code>."


def demo_code_hint(demo: bool, citizen: Citizen) -> str | None:
    if not demo:
        return None
    # A code works once, so show the first one not yet used (the window accepts the next step).
    step = max(int(time.time()) // STEP_SECONDS, (citizen.totp_last_step or -1) + 1)
    code = totp(bytes.fromhex(citizen.totp_secret), step * STEP_SECONDS)
    return f"Demo: {escape(citizen.name)}'s authenticator shows <code>{code}</code>."


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<meta name=viewport content='width=device-width'><style>{STYLE}</style></head><body>{body}</body></html>",
        status_code=status,
        headers=scriptless_page_headers(),
    )


def _hidden(name: str, value: str) -> str:
    return f"<input type=hidden name='{escape(name)}' value='{escape(value)}'>"


def login_page(
    *,
    provider: str,
    client_title: str,
    query: str,
    login_nonce: str,
    error: str | None,
    demo_hint: str | None,
    username: str = "",
) -> HTMLResponse:
    """``username`` pre-fills the form (OpenID Connect's ``login_hint``): a hint, never a login."""
    body = (
        f"<h1>{escape(provider)}</h1><p class=who>Log in to continue to <b>{escape(client_title)}</b>.</p>"
        + (f"<p class=error>{escape(error)}</p>" if error else "")
        + "<form method=post action='login'>"
        + _hidden("authorization_request", query)
        + _hidden("login_nonce", login_nonce)
        + "<label for=username>Name, phone or resident ID</label><input type=text id=username name=username "
        f"value='{escape(username)}' autocomplete=username required>"
        + "<label for=password>Password</label><input type=password id=password name=password "
        "autocomplete=current-password required>"
        + "<button type=submit>Log in</button></form>"
        + (f"<div class=demo>{demo_hint}</div>" if demo_hint else "")
    )
    return _page("Log in", body, 401 if error else 200)


def step_up_page(
    *,
    provider: str,
    client_title: str,
    required: str,
    query: str,
    csrf: str,
    error: str | None,
    demo_hint: str | None,
    action: str = "login/second-factor",
) -> HTMLResponse:
    """``action`` is relative to where the page is served: /authorize, or /login/second-factor after an error."""
    body = (
        f"<h1>{escape(provider)}</h1><p class=who><b>{escape(client_title)}</b> needs a higher level of "
        f"assurance (<code>{escape(required)}</code>). Enter the code from your authenticator app.</p>"
        + (f"<p class=error>{escape(error)}</p>" if error else "")
        + f"<form method=post action='{escape(action)}'>"
        + _hidden("authorization_request", query)
        + _hidden("csrf", csrf)
        + "<label for=code>Six-digit code</label><input type=text id=code name=code inputmode=numeric "
        "autocomplete=one-time-code required><button type=submit>Confirm</button></form>"
        + (f"<div class=demo>{demo_hint}</div>" if demo_hint else "")
    )
    return _page("Confirm it is you", body, 401 if error else 200)


def consent_page(
    *,
    provider: str,
    client_title: str,
    sector: str,
    lines: list[ConsentLine],
    query: str,
    csrf: str,
    acting_at: str | None = None,
    token_minutes: int | None = None,
) -> HTMLResponse:
    """``acting_at``: the citizen's own app asks to act at this service as them (RFC 8707 resource)."""
    items = "".join(f"<li>{escape(line.words)} <code>{escape(line.claim)}</code></li>" for line in lines)
    if acting_at is None:
        intro = (
            f"<p><b>{escape(client_title[:1].upper() + client_title[1:])}</b> "
            f"({escape(sector)} sector) asks to receive:</p>"
        )
        outro = "<p>Nothing else is sent. You can refuse; the service will then not know who you are.</p>"
    else:
        lifetime = f" for {token_minutes} minutes" if token_minutes else ""
        intro = (
            f"<p class=acting><b>Your app will act at {escape(acting_at)} as you.</b> "
            f"{escape(client_title[:1].upper() + client_title[1:])} gets a key{escape(lifetime)} that only "
            f"{escape(acting_at)} accepts: with it, the app can do there whatever you could do yourself, and "
            f"{escape(acting_at)} knows you only by its own pseudonym for you ({escape(sector)} sector). "
            "The super-app and the other services do not get this key.</p>"
            "<p>Your app asks to receive:</p>"
        )
        outro = (
            "<p>Nothing else is sent. Allow this only for an app you installed yourself, on your own "
            "device. You can refuse; the app will then not act for you.</p>"
        )
    body = (
        f"<h1>{escape(provider)}</h1>{intro}<ul>{items}</ul>{outro}"
        + "<form method=post action='authorize'>"
        + _hidden("authorization_request", query)
        + _hidden("csrf", csrf)
        + "<button type=submit name=decision value=allow>Allow</button> "
        "<button type=submit name=decision value=deny>Refuse</button></form>"
    )
    return _page("Let your app act for you?" if acting_at else "Share your data?", body)
