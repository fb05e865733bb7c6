"""The pages: sign-in, the case handler's search, customer card and work list, the planner's
capacity and transitions, the operator's model versions. Server-rendered with Jinja2 and
plain forms (no page needs script; nothing is loaded from outside the app).

Every page that shows a person is audited like the API (same actions, the purpose asked
once per session, the request's id and the client's address); a form that changes
something carries the session's form token (CSRF) and is refused without it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import zoneinfo
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import anyio
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from api.deps import PURPOSE_PATTERN, AppContext, Origin
from api.responses import workbook
from api.routers.capacity import cached_loads
from api.routers.periods import transitions_between, work_list
from api.routers.subjects import ID_PARAMS, lookup_payload
from api.web import labels
from api.web.session import Sessions, WebSession, new_session
from segmentation import excel
from segmentation.capacity import (
    ASSUMPTION_BOUNDS,
    CHANNEL_SV,
    Assumptions,
    ChannelShift,
    CustomerMove,
    parse_changes,
    report,
)
from segmentation.indicators import CASE_TYPE_SV
from segmentation.opinions import OPINION_METRICS
from segmentation.security import WEB_ROLES, verify_password
from segmentation.taxonomy import (
    COUNTY_NAMES,
    POPULATIONS,
    Population,
    category_names,
    county_name,
)

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    category=labels.category,
    channel=labels.channel,
    number=labels.number,
    feature_value=labels.feature_value,
    breakable=labels.breakable,
    county=county_name,
    feature=lambda name: labels.FEATURE_SV.get(name, name),
    input_name=labels.input_name,
    drift_flags=labels.drift_flags,
    drift_tag=labels.drift_tag,
    fairness_tag=labels.fairness_tag,
    input_names=labels.input_names,
    tag=lambda name: labels.TAG_SV.get(name, name),
    source=lambda name: labels.SOURCE_SV.get(name, name),
    role_name=lambda name: labels.ROLE_SV.get(name, name),
    part=lambda name: labels.PART_SV.get(name, name),
    population_name=lambda name: labels.POPULATION_SV.get(name, name),
    segment_name=excel.segment_sv,
    case_type=lambda name: CASE_TYPE_SV.get(name, name),
    dashed=lambda number: f"{number[:-4]}-{number[-4:]}",
    local=pass_context(
        lambda context, moment, form="%Y-%m-%d %H:%M": labels.local_time(
            moment, context["request"].app.state.web_settings.timezone, form
        )
    ),
)
router = APIRouter(include_in_schema=False)
HOME = {"case_handler": "/kund", "planner": "/planering", "operator": "/modeller"}
LOGIN_COOKIE = "segmentering_inloggning"
#: ÅÅÅÅMMDD-NNNN or ÅÅÅÅMMDDNNNN (a citizen); NNNNNN-NNNN or NNNNNNNNNN (an employer).
ID_INPUT = re.compile(r"^\s*(\d{8}|\d{6})[-+ ]?(\d{4})\s*$")


class PageError(Exception):
    """A page answered with a Swedish error page (never a stack trace)."""

    def __init__(self, status: int, title: str, text: str) -> None:
        self.status, self.title, self.text = status, title, text


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.web_sessions
    return sessions


def render(
    request: Request,
    name: str,
    values: dict[str, Any],
    *,
    session: WebSession | None = None,
    status: int = 200,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, {"session": session, "home": HOME, **values}, status_code=status
    )
    if session is not None:
        _sessions(request).write(response, session)  # sliding idle timeout
    return response


def signed_in(request: Request, *roles: str) -> WebSession:
    """The session of a signed-in person in one of ``roles``; otherwise the sign-in page
    (no session, or it expired) or a 403 page (another role)."""
    session, expired = _sessions(request).read(request)
    if session is None:
        target = quote(
            str(request.url.path) + ("?" + request.url.query if request.url.query else "")
        )
        note = "&utgangen=1" if expired else ""
        raise _Redirect(f"/logga-in?nasta={target}{note}")
    if roles and session.role not in roles:
        raise PageError(
            403,
            "Du har inte behörighet till sidan",
            f"Sidan är för {', '.join(labels.ROLE_SV[r] for r in roles).lower()}. "
            f"Du är inloggad som {labels.ROLE_SV.get(session.role, session.role).lower()}.",
        )
    return session


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


def _checked_form(session: WebSession, form: Any) -> None:
    if not session.form_token_ok(form.get("csrf")):
        raise PageError(
            403,
            "Formuläret kunde inte tas emot",
            "Formuläret saknade en giltig säkerhetskod. Ladda om sidan och försök igen.",
        )


async def _audit(
    request: Request, session: WebSession, action: str, subject: str | None, outcome: str
) -> None:
    """The same record the API writes for the same access."""
    try:
        await _context(request).auditor.record(
            actor=session.user,
            role=session.role,
            action=action,
            subject=subject,
            purpose=session.purpose or "unknown",
            outcome=outcome,
            request_id=Origin.of(request).request_id,
            client=Origin.of(request).client,
        )
    except Exception as error:  # nothing about a person is shown unaudited
        raise PageError(
            503,
            "Tjänsten är inte tillgänglig",
            "Loggen över vem som läser personuppgifter kan inte skrivas just nu, så sidan visas "
            "inte. Försök igen om en stund.",
        ) from error


def _needs_purpose(request: Request, session: WebSession) -> None:
    if not session.purpose:
        target = quote(
            str(request.url.path) + ("?" + request.url.query if request.url.query else "")
        )
        raise _Redirect(f"/syfte?nasta={target}")


def _here(request: Request) -> str:
    """This page's path and query, quoted for a ``nasta`` parameter."""
    query = "?" + request.url.query if request.url.query else ""
    return quote(str(request.url.path) + query)


def _safe_next(target: str | None, session: WebSession | None = None) -> str:
    """Only a path of this site (never another host)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return HOME.get(session.role, "/kund") if session else "/kund"


# -- sign-in ----------------------------------------------------------------------------------
@router.get("/")
async def start(request: Request) -> Response:
    session, _ = _sessions(request).read(request)
    return RedirectResponse(HOME.get(session.role, "/logga-in") if session else "/logga-in", 303)


def _login_page(
    request: Request, *, error: str | None = None, status: int = 200, name: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    note = None
    if request.query_params.get("utgangen"):
        note = "Du har varit inaktiv för länge och har loggats ut. Logga in igen."
    if request.query_params.get("utloggad"):
        note = "Du är utloggad."
    response = render(
        request,
        "login.html",
        {
            "error": error,
            "note": note,
            "csrf": token,
            "name": name,
            "next": request.query_params.get("nasta", ""),
            "sso": getattr(request.app.state, "sso", None) is not None,
        },
        status=status,
    )
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/logga-in")
    return response


@router.get("/logga-in")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/logga-in")
async def login(request: Request) -> Response:
    form = await request.form()
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or not secrets.compare_digest(token, str(form.get("csrf", ""))):
        return _login_page(
            request,
            error="Formuläret hade gått ut. Försök igen.",
            status=403,
        )
    name, password = str(form.get("anvandare", "")).strip(), str(form.get("losenord", ""))
    context = _context(request)
    settings = context.settings
    user = await anyio.to_thread.run_sync(context.store.web_user, name) if name else None
    wrong = "Fel användarnamn eller lösenord."
    if user is None or user["role"] not in WEB_ROLES:
        return _login_page(request, error=wrong, status=401, name=name)
    locked = user["locked_until"]
    if locked is not None and locked > dt.datetime.now(dt.UTC):
        minutes = max(1, int((locked - dt.datetime.now(dt.UTC)).total_seconds() // 60) + 1)
        return _login_page(
            request,
            error="Kontot är låst efter för många felaktiga försök. "
            f"Försök igen om {minutes} minuter.",
            status=423,
            name=name,
        )
    if not await anyio.to_thread.run_sync(verify_password, user["password_hash"], password):
        await anyio.to_thread.run_sync(
            lambda: context.store.failed_login(
                name,
                limit=settings.web_max_failures,
                lock=dt.timedelta(minutes=settings.web_lock_minutes),
            )
        )
        return _login_page(request, error=wrong, status=401, name=name)
    await anyio.to_thread.run_sync(context.store.signed_in, name)
    session = new_session(name, user["role"])
    response = RedirectResponse(_safe_next(str(form.get("nasta", "")), session), 303)
    _sessions(request).write(response, session)
    response.delete_cookie(LOGIN_COOKIE, path="/logga-in")
    return response


SSO_COOKIE = "segmentering_sso"


def _sso(request: Request) -> Any:
    """The identity provider's client, or a 404 page when single sign-on is not set up."""
    client = getattr(request.app.state, "sso", None)
    if client is None:
        raise PageError(404, "Ingen inloggning via organisationen", "Den är inte inställd.")
    return client


def _callback_url(request: Request) -> str:
    return str(request.url_for("sso_done"))


@router.get("/logga-in/sso")
async def sso_start(request: Request) -> Response:
    """Off to the agency's identity provider; state and nonce kept in a signed cookie."""
    client = _sso(request)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    url = await client.authorize_url(_callback_url(request), state, nonce)
    response = RedirectResponse(url, 303)
    signed = _sessions(request).sign_value(
        {"state": state, "nonce": nonce, "next": request.query_params.get("nasta", "")}
    )
    response.set_cookie(
        SSO_COOKIE, signed, max_age=600, httponly=True, samesite="lax", path="/logga-in"
    )
    return response


@router.get("/logga-in/sso/klar", name="sso_done")
async def sso_done(request: Request) -> Response:
    """Back from the identity provider: check the state, exchange the code, sign in."""
    from api.web.sso import SsoError

    client = _sso(request)
    kept = _sessions(request).unsign_value(request.cookies.get(SSO_COOKIE), max_age=600)
    state = request.query_params.get("state")
    if not kept or not state or not secrets.compare_digest(kept["state"], state):
        return _login_page(
            request, error="Inloggningen via organisationen gick ut. Försök igen.", status=403
        )
    code = request.query_params.get("code")
    if not code:
        return _login_page(request, error="Organisationens inloggning nekades.", status=403)
    try:
        identity = await client.identity(code, _callback_url(request), kept["nonce"])
    except SsoError as error:
        log.warning("single sign-on refused: %s", error)
        return _login_page(
            request,
            error="Inloggningen via organisationen gav ingen behörighet till tjänsten.",
            status=403,
        )
    session = new_session(identity.user, identity.role)
    response = RedirectResponse(_safe_next(kept.get("next"), session), 303)
    _sessions(request).write(response, session)
    response.delete_cookie(SSO_COOKIE, path="/logga-in")
    return response


@router.post("/logga-ut")
async def logout(request: Request) -> Response:
    session = signed_in(request)
    _checked_form(session, await request.form())
    response = RedirectResponse("/logga-in?utloggad=1", 303)
    Sessions.clear(response)
    return response


@router.get("/syfte")
async def purpose_form(request: Request) -> Response:
    session = signed_in(request, "case_handler")
    return render(
        request,
        "purpose.html",
        {"next": request.query_params.get("nasta", "/kund"), "error": None, "value": ""},
        session=session,
    )


@router.post("/syfte")
async def purpose(request: Request) -> Response:
    session = signed_in(request, "case_handler")
    form = await request.form()
    _checked_form(session, form)
    value = " ".join(str(form.get("syfte", "")).split())
    if not PURPOSE_PATTERN.match(value):
        return render(
            request,
            "purpose.html",
            {
                "next": form.get("nasta", "/kund"),
                "value": value,
                "error": "Ange syftet med 1–200 tecken: bokstäver, siffror, mellanslag "
                "och . : / - _",
            },
            session=session,
            status=422,
        )
    session = session.with_purpose(value)
    response = RedirectResponse(_safe_next(str(form.get("nasta", "")), session), 303)
    _sessions(request).write(response, session)
    return response


# -- case handler -------------------------------------------------------------------------------
def normalise_id(text: str) -> tuple[Population, str] | None:
    """A typed identity number as (population, the id the store knows), or None."""
    match = ID_INPUT.match(text or "")
    if not match:
        return None
    digits = match.group(1) + match.group(2)
    population: Population = "citizens" if len(digits) == 12 else "employers"
    if ID_PARAMS[population].check(digits):
        return None
    return population, digits


@router.get("/kund")
async def search(request: Request) -> Response:
    session = signed_in(request, "case_handler")
    typed = request.query_params.get("nummer")
    error = None
    if typed is not None:
        found = normalise_id(typed)
        if found is not None:
            return RedirectResponse(f"/kund/{found[1]}", 303)
        error = (
            "Ange ett giltigt personnummer (ÅÅÅÅMMDD-NNNN) eller organisationsnummer "
            "(NNNNNN-NNNN); kontrollsiffran stämmer inte eller formatet är fel."
        )
    return render(
        request,
        "search.html",
        {"error": error, "value": typed or ""},
        session=session,
        status=422 if error else 200,
    )


@router.get("/kund/{number}")
async def card(request: Request, number: str) -> Response:
    session = signed_in(request, "case_handler")
    found = normalise_id(number)
    if found is None:
        raise PageError(
            404, "Ogiltigt nummer", "Numret är inte ett giltigt person- eller organisationsnummer."
        )
    population, subject = found
    _needs_purpose(request, session)
    await _audit(request, session, f"{population}.lookup", subject, "allowed")
    try:
        answer = await lookup_payload(_context(request), population, subject)
    except HTTPException as error:
        if error.status_code == 404:
            raise PageError(
                404,
                "Kunden finns inte i registret",
                "Ingen kund med det numret finns i någon bedömd period.",
            ) from error
        raise
    message = MESSAGES.get(request.query_params.get("meddelande") or "")
    return _render_card(request, session, population, subject, answer, message=message)


def _render_card(
    request: Request,
    session: WebSession,
    population: Population,
    subject: str,
    answer: dict[str, Any],
    *,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    form: Any = None,
) -> HTMLResponse:
    """The customer card; with ``errors``, the form as it was sent, its fields marked."""
    return render(
        request,
        "card.html",
        {
            "customer": subject,
            "population": population,
            "answer": answer,
            "categories": category_names(population),
            "message": message,
            "errors": errors or {},
            "form": dict(form or {}),
            # An override may end tomorrow at the earliest (the form refuses today).
            "first_day": (_agency_today(request) + dt.timedelta(days=1)).isoformat(),
        },
        session=session,
        status=422 if errors else 200,
    )


#: Said on the card after a judgement that asked another case handler for a second opinion
#: (``CaseWrites._offer_again``): the customer waits in a review sample's spread part.
_SECOND_OPINION = (
    " Kunden ingår i ett granskningsurval och bedöms nu också av en annan handläggare,"
    " som inte ser din bedömning."
)
MESSAGES = {
    "andrad": "Handläggarens kategori är sparad och gäller före modellens.",
    "borttagen": "Handläggarens kategori är borttagen: modellens kategori gäller igen.",
    "granskad": "Din bedömning är sparad. Den används när modellen tränas nästa gång.",
}
MESSAGES |= {f"{key}-andra": MESSAGES[key] + _SECOND_OPINION for key in ("andrad", "granskad")}


def _saved(subject: str, message: str, stored: dict[str, Any]) -> RedirectResponse:
    """Back to the card after a judgement, saying whether it asked for a second opinion."""
    asked = "-andra" if stored.get("second_opinion") else ""
    return RedirectResponse(f"/kund/{subject}?meddelande={message}{asked}", 303)


async def _card_with_errors(
    request: Request,
    session: WebSession,
    population: Population,
    subject: str,
    errors: dict[str, str],
    form: Any,
) -> Response:
    answer = await lookup_payload(_context(request), population, subject)
    return _render_card(request, session, population, subject, answer, errors=errors, form=form)


def _found(number: str) -> tuple[Population, str]:
    found = normalise_id(number)
    if found is None:
        raise PageError(
            404, "Ogiltigt nummer", "Numret är inte ett giltigt person- eller organisationsnummer."
        )
    return found


async def _case_form(
    request: Request, number: str, action: str
) -> tuple[WebSession, Any, Population, str]:
    """What every case handler's form about one customer checks first: the role, the form
    token, the number, the purpose; then the audit record of ``{population}.{action}``."""
    session = signed_in(request, "case_handler")
    form = await request.form()
    _checked_form(session, form)
    population, subject = _found(number)
    _needs_purpose(request, session)
    await _audit(request, session, f"{population}.{action}", subject, "allowed")
    return session, form, population, subject


@router.post("/kund/{number}/andra")
async def override(request: Request, number: str) -> Response:
    session, form, population, subject = await _case_form(request, number, "override")
    errors: dict[str, str] = {}
    category = str(form.get("kategori", ""))
    reason = " ".join(str(form.get("motivering", "")).split())
    if category not in category_names(population):
        errors["kategori"] = "Välj en kategori."
    if not 3 <= len(reason) <= 500:
        errors["motivering"] = "Skriv en motivering på 3–500 tecken."
    expires: dt.datetime | None = None
    if until := str(form.get("giltig_till", "")).strip():
        try:
            day = dt.date.fromisoformat(until)
        except ValueError:
            errors["giltig_till"] = "Ange datumet som ÅÅÅÅ-MM-DD."
        else:
            if day <= _agency_today(request):
                errors["giltig_till"] = "Datumet måste ligga efter i dag."
            # The day ends where the agency is, not in UTC (an hour or two later in Sweden).
            zone = zoneinfo.ZoneInfo(request.app.state.web_settings.timezone)
            expires = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone).astimezone(dt.UTC)
    if errors:
        return await _card_with_errors(request, session, population, subject, errors, form)
    store = _context(request).store
    current = await anyio.to_thread.run_sync(store.current, population, subject)
    if current is None:
        raise PageError(404, "Kunden finns inte i registret", "Ingen kund med det numret.")
    stored = await anyio.to_thread.run_sync(
        lambda: store.set_override(
            population,
            subject,
            category=category,
            reason=reason,
            actor=session.user,
            expires_at=expires,
            model_category=str(current["category"]),
        )
    )
    return _saved(subject, "andrad", stored)


@router.post("/kund/{number}/ta-bort")
async def remove_override(request: Request, number: str) -> Response:
    session, _, population, subject = await _case_form(request, number, "override")
    store = _context(request).store
    await anyio.to_thread.run_sync(
        lambda: store.remove_override(
            population, subject, actor=session.user, reason="borttagen av handläggare"
        )
    )
    return RedirectResponse(f"/kund/{subject}?meddelande=borttagen", 303)


@router.post("/kund/{number}/granska")
async def review(request: Request, number: str) -> Response:
    session, form, population, subject = await _case_form(request, number, "review")
    category = str(form.get("bedomning", ""))
    note = " ".join(str(form.get("anteckning", "")).split())[:500] or None
    if category not in category_names(population):
        return await _card_with_errors(
            request, session, population, subject, {"bedomning": "Välj en kategori."}, form
        )
    store = _context(request).store
    stored = await _add_review(store, population, subject, category, session.user, note)
    return _saved(subject, "granskad", stored)


async def _add_review(
    store: Any, population: Population, subject: str, category: str, user: str, note: str | None
) -> dict[str, Any]:
    """Record a case handler's judgement with the model's stored category beside it: one
    that differs from it on a customer of a review sample's spread part asks for a second
    opinion (on Granskning, where the category is never shown, and from the card alike).
    The review as stored, ``second_opinion`` saying whether one was asked (told on the card
    only: on Granskning it would hint at the model's category)."""
    current = await anyio.to_thread.run_sync(store.current, population, subject)
    return await anyio.to_thread.run_sync(
        lambda: store.add_review(
            population,
            subject,
            category=category,
            reviewer=user,
            note=note,
            model_category=None if current is None else str(current["category"]),
        )
    )


# -- the review queue (issue 8): the samples `segmentation review sample` drew ---------------
REVIEW_MESSAGES = {
    "sparad": "Din bedömning är sparad. Här är nästa kund att granska.",
    "klar": "Din bedömning är sparad. Det finns inga fler lediga kunder att granska just nu.",
}


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("sida", "1")))
    except ValueError:
        return 1


async def _first_open(store: Any, population: Population, user: str) -> dict[str, Any]:
    """The review queue's first page of one for ``user``: the next customer nobody else has
    open, and how many are open in all."""
    return await anyio.to_thread.run_sync(
        partial(store.review_queue, population, page=1, page_size=1, free_for=user)
    )


@router.get("/granskning")
async def review_queue_page(request: Request) -> Response:
    """The customers drawn for review, in the sample's order, one population at a time."""
    session = signed_in(request, "case_handler")
    _needs_purpose(request, session)
    group = request.query_params.get("grupp", "citizens")
    population: Population = "employers" if group == "employers" else "citizens"
    page = _page_number(request)
    store = _context(request).store
    queues = {
        name: await anyio.to_thread.run_sync(
            # The other population: its counts only.
            partial(
                store.review_queue,
                name,
                page=page,
                page_size=25 if name == population else 0,
                judged_by=session.user,  # waiting for another case handler's opinion
            )
        )
        for name in POPULATIONS
    }
    answer = queues[population]
    for customer in answer["customers"]:
        await _audit(
            request, session, f"{population}.review_queue", customer["customer_id"], "allowed"
        )
    return render(
        request,
        "review_queue.html",
        {
            "answer": answer,
            "queues": queues,
            "population": population,
            "page": page,
            "message": REVIEW_MESSAGES.get(request.query_params.get("meddelande") or ""),
        },
        session=session,
    )


def _render_review_form(
    request: Request,
    session: WebSession,
    population: Population,
    subject: str,
    still_open: int,
    *,
    errors: dict[str, str] | None = None,
    form: Any = None,
    message: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "review_form.html",
        {
            "customer": subject,
            "population": population,
            "categories": category_names(population),
            "hints": labels.CATEGORY_HINT_SV,
            "open": still_open,
            "errors": errors or {},
            "form": dict(form or {}),
            "message": message,
        },
        session=session,
        status=422 if errors else 200,
    )


@router.get("/granskning/{number}")
async def review_form(request: Request, number: str) -> Response:
    """One customer of the sample to judge, blind: the model's category is not shown, so
    the review measures the model instead of echoing it."""
    session = signed_in(request, "case_handler")
    population, subject = _found(number)
    _needs_purpose(request, session)
    await _audit(request, session, f"{population}.review_queue", subject, "allowed")
    store = _context(request).store
    mine = partial(store.queued_for_review, population, subject, judged_by=session.user)
    if not await anyio.to_thread.run_sync(mine):
        if await anyio.to_thread.run_sync(store.queued_for_review, population, subject):
            raise PageError(
                404,
                "Du har redan bedömt kunden",
                "Kunden väntar på en annan handläggares bedömning, som görs utan att se din.",
            )
        raise PageError(
            404,
            "Kunden väntar inte på granskning",
            "Kunden är redan granskad eller finns inte i något urval att granska.",
        )
    # Others are offered other customers while this one's form is open.
    await anyio.to_thread.run_sync(store.claim_review, population, subject, session.user)
    queue = await _first_open(store, population, session.user)
    message = REVIEW_MESSAGES.get(request.query_params.get("meddelande") or "")
    return _render_review_form(
        request, session, population, subject, queue["open"], message=message
    )


@router.post("/granskning/{number}")
async def review_save(request: Request, number: str) -> Response:
    """Record the judgement (audited) and go on to the next customer in the queue."""
    session, form, population, subject = await _case_form(request, number, "review")
    store = _context(request).store
    category = str(form.get("kategori", ""))
    note = " ".join(str(form.get("anteckning", "")).split())[:500] or None
    if category not in category_names(population):
        queue = await _first_open(store, population, session.user)
        errors = {f"kategori-{category_names(population)[0]}": "Välj en kategori."}
        return _render_review_form(
            request, session, population, subject, queue["open"], errors=errors, form=form
        )
    # The model's category, never shown on the form: where the judgement differs from it,
    # another case handler judges the customer too (a second opinion).
    await _add_review(store, population, subject, category, session.user, note)
    queue = await _first_open(store, population, session.user)
    if queue["customers"]:
        return RedirectResponse(
            f"/granskning/{queue['customers'][0]['customer_id']}?meddelande=sparad", 303
        )
    return RedirectResponse(f"/granskning?grupp={population}&meddelande=klar", 303)


@router.get("/arbetslista")
async def worklist(request: Request) -> Response:
    session = signed_in(request, "case_handler")
    _needs_purpose(request, session)
    region = request.query_params.get("lan") or None
    if region is not None and region not in COUNTY_NAMES:
        region = None
    page = _page_number(request)
    try:
        answer = await work_list(_context(request), region=region, page=page, page_size=25)
    except HTTPException as error:
        raise PageError(404, "Ingen arbetslista än", "Ingen period är bedömd ännu.") from error
    for customer in answer["customers"]:
        await _audit(request, session, "warnings.list", customer["customer_id"], "allowed")
    return render(
        request,
        "worklist.html",
        {"answer": answer, "region": region, "counties": COUNTY_NAMES, "page": page},
        session=session,
    )


# -- planner -------------------------------------------------------------------------------------
def _percent(
    form: Any, name: str, default: float, low: float, high: float
) -> tuple[float, str | None]:
    text = str(form.get(name, "")).strip().replace(",", ".")
    if not text:
        return default, None
    try:
        value = float(text) / 100
    except ValueError:
        return default, "Ange ett tal."
    if not low <= value <= high:
        return default, f"Ange ett värde mellan {low * 100:.0f} och {high * 100:.0f}."
    return value, None


def _scenario(
    query: Any,
) -> tuple[Assumptions, list[str], list[str], dict[str, str], dict[str, Any]]:
    """The planner's choices from the page's query, checked; errors named per field."""
    errors: dict[str, str] = {}
    low, high = ASSUMPTION_BOUNDS["service_level"]
    level, problem = _percent(query, "serviceniva", Assumptions.service_level, low, high)
    if problem:
        errors["serviceniva"] = problem
    within = Assumptions.answer_within_seconds
    if text := str(query.get("svarstid", "")).strip():
        low, high = ASSUMPTION_BOUNDS["answer_within_seconds"]
        try:
            within = float(text)
            if not low <= within <= high:
                raise ValueError
        except ValueError:
            errors["svarstid"] = f"Ange sekunder mellan {low:.0f} och {high:.0f}."
            within = Assumptions.answer_within_seconds
    shifts: list[str] = []
    share, problem = _percent(query, "sjalvservice_andel", 0.0, 0.0, 1.0)
    if problem:
        errors["sjalvservice_andel"] = problem
    if share > 0:
        shifts.append(
            f"{query.get('sjalvservice_kategori', 'irregular')}:"
            f"{query.get('sjalvservice_kanal', 'phone')}:{share}"
        )
    moves: list[str] = []
    moved, problem = _percent(query, "flytt_andel", 0.0, 0.0, 1.0)
    if problem:
        errors["flytt_andel"] = problem
    if moved > 0:
        origin = query.get("flytt_fran", "needs_support")
        moves.append(f"{origin}:{query.get('flytt_till', 'irregular')}:{moved}")
    assumptions = Assumptions(service_level=level, answer_within_seconds=within)
    return assumptions, shifts, moves, errors, dict(query)


async def _capacity(request: Request) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    assumptions, shifts, moves, errors, values = _scenario(request.query_params)
    changes: list[ChannelShift | CustomerMove] = []
    try:
        changes += parse_changes(shifts, None)
    except ValueError:  # the selects offer a channel the category's contacts may lack
        errors["sjalvservice_kanal"] = (
            "Välj en kanal som kategorin har: arbetsgivares kontakter räknas per telefon, "
            "e-post och brev, medborgares per telefon, kontor, digitala kanaler och brev."
        )
    try:
        changes += parse_changes(None, moves)
    except ValueError:
        errors["flytt_till"] = "Välj två olika kategorier att flytta kunder mellan."
    loads = await cached_loads(_context(request))
    if not loads:
        raise PageError(404, "Inga bedömda kunder", "Kör en bedömning (segmentation score) först.")
    return report(loads, assumptions, changes), errors, values


@router.get("/planering")
async def planning(request: Request) -> Response:
    session = signed_in(request, "planner")
    result, errors, values = await _capacity(request)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items()])
    return render(
        request,
        "planning.html",
        {
            "report": result,
            "errors": errors,
            "values": values,
            "query": query,
            "by_county": _by_county(result),
            "channels": CHANNEL_SV,  # the scenario's channels, as its words say them
        },
        session=session,
        status=422 if errors else 200,
    )


def _by_county(result: dict[str, Any]) -> dict[str, Any]:
    """FTE per county (rows) and segment (columns), with the agents of the county's one
    phone line for every segment (``pooled_phone_agents``)."""
    shown = result.get("scenario") or result
    rows = shown["segments"]
    segments = [r["category"] for r in rows if r["region"] == "all"]
    cells = {(r["region"], r["category"]): r for r in rows if r["region"] != "all"}
    regions = sorted({r["region"] for r in rows if r["region"] != "all"})
    return {
        "segments": segments,
        "rows": [
            {
                "region": region,
                "fte": [cells.get((region, name), {}).get("fte", 0.0) for name in segments],
                "agents": shown["region_phone_agents"].get(region, 0),
            }
            for region in regions
        ],
    }


@router.get("/planering.xlsx")
async def planning_workbook(request: Request) -> Response:
    signed_in(request, "planner")
    result, _, _ = await _capacity(request)
    body = await anyio.to_thread.run_sync(excel.capacity_workbook, result)
    return workbook(body, "kapacitet.xlsx")


@router.get("/forandringar")
async def transitions_page(request: Request) -> Response:
    session = signed_in(request, "planner", "operator")
    context = _context(request)
    periods = context.store.periods("citizens", fresh=True)
    ends = [p.period_end for p in periods]  # newest first
    earlier, later, problem = _chosen_periods(request.query_params, ends)
    report_: dict[str, Any] | None = None
    if earlier and later and not problem:
        report_ = await transitions_between(context, "citizens", earlier, later)
    drift = [d for _, _, d in context.store.drift_reports("citizens")]
    import json

    return render(
        request,
        "transitions.html",
        {
            "report": report_,
            "periods": [end.isoformat() for end in ends],
            "chosen": {"fran": earlier, "till": later},
            "problem": problem,
            "not_two_periods": NOT_TWO_PERIODS,
            "drift": [json.loads(d) for d in drift],
        },
        session=session,
        status=422 if problem else 200,
    )


@router.get("/forandringar.xlsx")
async def transitions_workbook(request: Request) -> Response:
    signed_in(request, "planner", "operator")
    context = _context(request)
    ends = [p.period_end for p in context.store.periods("citizens", fresh=True)]
    earlier, later, problem = _chosen_periods(request.query_params, ends)
    if problem or not (earlier and later):
        raise PageError(422, "Perioderna går inte att jämföra", problem or NOT_TWO_PERIODS)
    report_ = await transitions_between(context, "citizens", earlier, later)
    body = await anyio.to_thread.run_sync(excel.transitions_workbook, report_)
    name = f"forandringar-{earlier}-{later}.xlsx"
    return workbook(body, name)


NOT_TWO_PERIODS = "Det behövs två bedömda perioder för att visa förändringar."
MONTHS_SV = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
]


def month_sv(month: str) -> str:
    """``2026-03`` as the planners say it: mars 2026."""
    year, number = month.split("-")
    return f"{MONTHS_SV[int(number) - 1]} {year}"


async def _kept_indicators(request: Request) -> tuple[dict[str, Any] | None, list[str], str | None]:
    """The month the planner chose (``manad``; the newest kept by default), the months
    kept, and what is wrong with the choice, in Swedish."""
    store = _context(request).store
    months = await anyio.to_thread.run_sync(store.indicator_months)
    chosen = request.query_params.get("manad") or (months[0] if months else None)
    if chosen is None:
        return None, months, None
    if chosen not in months:  # the kept months are the only ones to choose
        return None, months, "Välj en av månaderna som har tagits fram."
    return await anyio.to_thread.run_sync(store.indicators, chosen), months, None


@router.get("/indikatorer")
async def indicators_page(request: Request) -> Response:
    session = signed_in(request, "planner")
    kept, months, problem = await _kept_indicators(request)
    return render(
        request,
        "indicators.html",
        {
            "report": kept,
            "months": [(month, month_sv(month)) for month in months],
            "problem": problem,
            "month_sv": month_sv,
        },
        session=session,
        status=422 if problem else 200,
    )


@router.get("/indikatorer/alla.xlsx")
async def indicators_series_workbook(request: Request) -> Response:
    signed_in(request, "planner")
    reports = await anyio.to_thread.run_sync(_context(request).store.indicator_reports)
    if not reports:
        raise PageError(404, "Inga resultatindikatorer", "Inga månader har tagits fram ännu.")
    body = await anyio.to_thread.run_sync(excel.indicators_series_workbook, reports)
    name = f"indikatorer-{reports[0]['month']}-{reports[-1]['month']}.xlsx"
    return workbook(body, name)


@router.get("/indikatorer.xlsx")
async def indicators_workbook(request: Request) -> Response:
    signed_in(request, "planner")
    kept, _, problem = await _kept_indicators(request)
    if kept is None:
        raise PageError(422, "Månaden finns inte", problem or "Inga resultatindikatorer ännu.")
    body = await anyio.to_thread.run_sync(excel.indicators_workbook, kept)
    return workbook(body, f"indikatorer-{kept['month']}.xlsx")


def _chosen_periods(
    query: Any, ends: list[dt.date]
) -> tuple[dt.date | None, dt.date | None, str | None]:
    """The two periods the planner chose (``fran``, ``till``; the latest two by default), and
    what is wrong with the choice, in Swedish."""
    if len(ends) < 2:
        return None, None, None
    earlier = _date(query.get("fran")) or ends[1]
    later = _date(query.get("till")) or ends[0]
    if earlier not in ends or later not in ends:
        return earlier, later, "Välj två perioder som har bedömts."
    if earlier >= later:
        return earlier, later, "Välj en från-period som ligger före till-perioden."
    return earlier, later, None


def _agency_today(request: Request) -> dt.date:
    """Today where the agency is (``SEGMENTATION_TIMEZONE``), not on the server's clock."""
    zone = zoneinfo.ZoneInfo(request.app.state.web_settings.timezone)
    return dt.datetime.now(zone).date()


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


# -- operator ------------------------------------------------------------------------------------
@router.get("/modeller")
async def models_page(request: Request) -> Response:
    session = signed_in(request, "operator")
    versions = await anyio.to_thread.run_sync(_versions)
    return render(
        request,
        "models.html",
        {
            "versions": versions,
            "samples": await anyio.to_thread.run_sync(_context(request).store.review_samples),
            "serving": _context(request).models.versions,
            "message": request.query_params.get("meddelande"),
            "error": None,
        },
        session=session,
    )


@router.post("/modeller/drift")
async def put_into_service(request: Request) -> Response:
    """An operator puts a version into service (a rollback is the previous version), with a
    reason: recorded on the version in MLflow and in the audit log; the app follows at once."""
    from models.registry import record_promotion

    session = signed_in(request, "operator")
    form = await request.form()
    _checked_form(session, form)
    population, version = str(form.get("population", "")), str(form.get("version", ""))
    reason = " ".join(str(form.get("motivering", "")).split())
    context = _context(request)
    if population not in ("citizens", "employers") or not version.isdigit():
        raise PageError(422, "Okänd version", "Versionen finns inte.")
    if not 3 <= len(reason) <= 200:
        versions = await anyio.to_thread.run_sync(_versions)
        return render(
            request,
            "models.html",
            {
                "versions": versions,
                "samples": await anyio.to_thread.run_sync(context.store.review_samples),
                "serving": context.models.versions,
                "message": None,
                "error": (population, version, "Skriv en motivering på 3–200 tecken."),
            },
            session=session,
            status=422,
        )
    try:
        await anyio.to_thread.run_sync(
            lambda: record_promotion(
                population,  # type: ignore[arg-type]
                version,
                reason=reason,
                operator=session.user,
            )
        )
    except LookupError as error:
        raise PageError(404, "Okänd version", "Versionen finns inte i registret.") from error
    await context.auditor.record(
        actor=session.user,
        role=session.role,
        action=f"promote_{population}_model",
        subject=f"v{version}",
        purpose=reason,
        outcome="allowed",
        request_id=Origin.of(request).request_id,
        client=Origin.of(request).client,
    )
    await anyio.to_thread.run_sync(context.models.refresh_checked)
    return RedirectResponse(f"/modeller?meddelande={population}-{version}", 303)


def _versions() -> list[dict[str, Any]]:
    from mlflow import MlflowClient

    from models.registry import MODEL_NAMES, agreement_unmeasured

    client = MlflowClient()
    out = []
    for population, name in MODEL_NAMES.items():
        versions = client.search_model_versions(f"name='{name}'")
        # search_model_versions leaves every version's aliases empty (mlflow#9783): the
        # registered model has them.
        aliases: dict[str, list[str]] = {}
        if versions:
            for alias, number in client.get_registered_model(name).aliases.items():
                aliases.setdefault(str(number), []).append(alias)
        for version in versions:
            run = client.get_run(version.run_id) if version.run_id else None
            metrics = run.data.metrics if run else {}
            out.append(
                {
                    "population": population,
                    "version": version.version,
                    "created": dt.datetime.fromtimestamp(version.creation_timestamp / 1000, dt.UTC),
                    "aliases": sorted(aliases.get(str(version.version), [])),
                    "gate": run.data.tags.get("gate", "–") if run else "–",
                    "fairness": version.tags.get("fairness", "–"),
                    "drift": version.tags.get("drift", "–"),
                    # Count columns 0 for every customer: an extract that left them out?
                    "unrecorded": run.data.tags.get("unrecorded", "none") if run else "none",
                    "metrics": {
                        k: metrics[k]
                        for k in ("review_macro_recall", "stability", "truth_macro_recall")
                        if k in metrics
                    },
                    "unmeasured": agreement_unmeasured(population, metrics),
                    # What second opinions said of the reviews (training.review): a low
                    # agreement is case handlers' slips, which pull the measured one down.
                    "opinions": {k: metrics[k] for k in OPINION_METRICS if k in metrics},
                }
            )
    return sorted(out, key=lambda v: (v["population"], -int(v["version"])))


def install(app: Any) -> None:
    """Mount the pages and their assets on the app, with their error pages."""
    from fastapi.staticfiles import StaticFiles

    settings = app.state.web_settings
    app.state.web_sessions = Sessions(
        settings.resolved_jwt_secret(),
        idle_seconds=settings.web_idle_minutes * 60,
        secure=settings.environment != "development",
    )
    app.state.sso = None
    if settings.oidc_issuer:
        from api.web.sso import OidcClient

        app.state.sso = OidcClient(settings)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.router.routes.extend(router.routes)

    @app.exception_handler(PageError)
    async def page_error(request: Request, error: PageError) -> HTMLResponse:
        session, _ = _sessions(request).read(request)
        return render(
            request,
            "error.html",
            {"title": error.title, "text": error.text},
            session=session,
            status=error.status,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        """Never a stack trace: a page in Swedish (JSON under /v1); the error is logged."""
        log.error("unexpected error on %s: %s", request.url.path, type(error).__name__)
        if request.url.path.startswith("/v1/"):
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return render(
            request,
            "error.html",
            {"title": "Något gick fel", "text": "Sidan kunde inte visas. Försök igen om en stund."},
            status=500,
        )

    @app.exception_handler(_Redirect)
    async def redirect(_: Request, error: _Redirect) -> Response:
        return RedirectResponse(error.location, 303)
