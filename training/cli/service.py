"""Running the service: serve the API, mint tokens, read the audit log."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

from segmentation.settings import get_settings
from training.cli.common import console

log = logging.getLogger(__name__)


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Start the HTTP API (uvicorn, one worker)."""
    import uvicorn

    get_settings()  # bad settings are said here, before the server starts
    console.print(f"serving on http://{host}:{port} (OpenAPI at /docs)")
    # The app by its import string: the command line never imports the API.
    # No access log: request paths carry personal identity numbers.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
    )


def token(
    role: Annotated[str, typer.Option(help="case_handler, portal, planner or operator.")],
    subject: Annotated[str, typer.Option(help="Who the token is for.")] = "demo-user",
    minutes: Annotated[int | None, typer.Option(min=1, max=1440)] = None,
    citizen: Annotated[
        str | None,
        typer.Option(help="Portal tokens: the signed-in citizen (12 digits) it may route."),
    ] = None,
) -> None:
    """Print a bearer token signed with the configured secret."""
    from data_contracts.identifiers import personal_number_problem
    from segmentation.security import ROLES, mint_token, subject_problem

    if role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    if problem := subject_problem(subject):
        raise typer.BadParameter(problem, param_hint="--subject")
    if citizen is not None:
        if role != "portal":
            raise typer.BadParameter("only a portal token names a citizen", param_hint="--citizen")
        if problem := personal_number_problem(citizen):
            raise typer.BadParameter(problem, param_hint="--citizen")
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    typer.echo(
        mint_token(
            secret=settings.resolved_jwt_secret(),
            algorithm=settings.jwt_algorithm,
            role=role,  # type: ignore[arg-type]
            subject=subject,
            minutes=minutes or settings.token_minutes,
            citizen=citizen,
        )
    )


def audit(
    subject: Annotated[str | None, typer.Option(help="Only records about this id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 100,
) -> None:
    """Print the audit log as JSON lines (oldest first)."""
    from segmentation.store import SegmentStore

    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    for record in store.audit_entries(subject=subject, limit=limit):
        record.pop("id", None)
        typer.echo(json.dumps(record, default=str, ensure_ascii=False))
    store.dispose()


def user_add(
    name: Annotated[str, typer.Argument(help="The person's user name.")],
    role: Annotated[str, typer.Option(help="case_handler, planner or operator.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create (or reset) a local account for the web pages; the password is asked for, or
    read from standard input, and stored as an Argon2 hash."""
    import sys

    from segmentation.security import (
        PASSWORD_MIN_LENGTH,
        WEB_ROLES,
        hash_password,
        subject_problem,
    )
    from segmentation.store import SegmentStore

    if role not in WEB_ROLES:
        raise typer.BadParameter(f"one of {', '.join(WEB_ROLES)}", param_hint="--role")
    if problem := subject_problem(name):
        raise typer.BadParameter(problem, param_hint="NAME")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < PASSWORD_MIN_LENGTH:
        raise typer.BadParameter(
            f"at least {PASSWORD_MIN_LENGTH} characters", param_hint="password"
        )
    settings = get_settings()
    store = SegmentStore(settings.resolved_store_url, settings.audit_url)
    store.create()
    store.add_user(name, role, hash_password(password))
    store.dispose()
    console.print(f"{name}: {role}")
