"""The `segmentation` command line (typer), one module per group of commands:
``pipeline`` (generate, train, score, demo), ``review`` (review sample/export, promote),
``service`` (serve, token, audit) and ``planning`` (capacity, transitions, drift, oversight,
indicators). Nothing here imports the API: ``serve`` hands uvicorn the app's import
string."""

from __future__ import annotations

import gc
import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import Annotated

import typer

from training.cli import pipeline, planning, review, service
from training.cli.common import BAD_INPUT, REGISTRY_UNREADABLE, console

app = typer.Typer(add_completion=False, help="Customer segmentation for a social-insurance agency.")
review_app = typer.Typer(help="The expert-review loop: samples to review, reviews to train on.")
app.add_typer(review_app, name="review")

COMMANDS: tuple[Callable[..., None], ...] = (
    pipeline.generate,
    pipeline.train,
    pipeline.score,
    review.promote,
    service.serve,
    service.token,
    service.audit,
    planning.capacity,
    planning.transitions,
    planning.drift,
    planning.oversight,
    planning.indicators,
    pipeline.demo,
)
for command in COMMANDS:
    app.command()(command)
review_app.command("sample")(review.review_sample)
review_app.command("opinions")(review.review_opinions)
review_app.command("export")(review.review_export)
review_app.command("queue")(review.review_queue)
user_app = typer.Typer(help="Accounts of the people who sign in to the web pages.")
app.add_typer(user_app, name="user")
user_app.command("add")(service.user_add)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # MLflow sets its own loggers' level when it is imported (after this: commands import
    # it when they need it), from this variable; a level set here beforehand is overwritten,
    # and every training printed MLflow's INFO and WARNING lines without -v.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING" if verbose else "ERROR")
    if not verbose:
        warnings.filterwarnings("ignore", module="mlflow")
        warnings.filterwarnings("ignore", category=UserWarning)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


def entry() -> None:
    """The console script: the commands, with a registry that cannot be read said in one
    line (exit 3) rather than as a traceback or as 'no champion', and a path that cannot be
    read or written in one line (exit 2). The process ends after it."""
    from models.errors import RegistryError

    try:
        app()
    except RegistryError as error:
        console.print(f"[red]{error}[/red]")
        sys.exit(REGISTRY_UNREADABLE)
    except OSError as error:
        # A folder that cannot be written, a file that cannot be read, a full disk: the
        # path and the reason in one line (the traceback with -v), exit 2 like other input.
        logging.getLogger(__name__).info("the error's traceback", exc_info=True)
        console.print(f"[red]{error}[/red]")
        sys.exit(BAD_INPUT)
    finally:
        # The command is done: the interpreter's exit need not search every object MLflow,
        # pandas and scikit-learn made for cycles (0.55 s at exit; 0.05 s with them frozen).
        gc.freeze()
