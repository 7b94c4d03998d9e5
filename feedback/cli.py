"""The `feedback` command: serve, worker, migrate, import, users, API keys, customers, config,
themes."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from feedback.configuration.cli import config_app
from feedback.insights.cli import themes_app
from feedback.privacy.cli import customers_app

app = typer.Typer(help="Closed-loop customer feedback.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="apikeys")
app.add_typer(customers_app, name="customers")
app.add_typer(config_app, name="config")
# The themes CLI is a stable contract of its own (feedback themes train/classify/discover).
app.add_typer(themes_app, name="themes", help="Train, apply and discover comment themes.")
console = Console(stderr=True)


def load_settings(**overrides: Any) -> Any:
    from feedback.settings import Settings

    if not os.environ.get("FEEDBACK_SECRET_KEY") and "secret_key" not in overrides:
        # Keep sessions and signed links valid across restarts without asking newcomers to
        # configure anything: a random key, kept next to the SQLite file.
        path = Path("var/secret_key")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        overrides["secret_key"] = path.read_text().strip()
    return Settings(**overrides)


def _engine(settings: Any) -> Any:
    from feedback.db import make_engine

    return make_engine(settings.database_url)


def prepared() -> tuple[Any, Any]:
    """Settings and an engine on a migrated database: what every data command starts from."""
    from feedback.app import prepare_database

    settings = load_settings()
    engine = _engine(settings)
    prepare_database(settings, engine)
    return settings, engine


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Seed demo data and run the worker in-process.")] = False,
    workers: Annotated[int, typer.Option(help="Web processes (PostgreSQL only).")] = 1,
) -> None:
    """Run the web application (and, with --demo, everything a newcomer needs)."""
    from feedback.app import create_app, prepare_database
    from feedback.logs import configure_logging

    configure_logging()
    # Take the port before anything slow (migrations, the demo's seeding): a busy port is
    # reported at once, and the banner below is printed only once the server listens on it.
    sock = _bind(host, port)
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    overrides: dict[str, Any] = {}
    if demo:
        overrides["demo"] = True
        if not os.environ.get("FEEDBACK_PUBLIC_URL"):
            overrides["public_url"] = f"http://{shown_host}:{port}"
    settings = load_settings(**overrides)
    engine = _engine(settings)
    try:
        prepare_database(settings, engine)
    except Exception as exc:
        console.print(f"[red]cannot start:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    hooks = []
    if demo:
        from feedback.demo import ensure_demo_data

        created = ensure_demo_data(engine, settings, progress=_say)
        if created:
            _say(f"Seeded demo data: {created}.")
        hooks.append(_demo_worker_hook(settings))
    engine.dispose()
    banner = _banner(f"http://{shown_host}:{port}", demo)
    if workers > 1 and (settings.is_sqlite or demo):
        _say("several web processes need PostgreSQL and no --demo; running one")
        workers = 1
    _run(create_app(settings, lifespan_hooks=hooks) if workers == 1 else "feedback.app:create_app",
         sock, banner, workers)


def settle_heap() -> None:
    """Exempt what start-up built from the garbage collector's full passes: modules, classes,
    the app — some 130k objects that live as long as the process. A full pass over them took
    ~0.4 s on a 2-core machine, and a large import or a busy server sets one off every few
    seconds (a fifth of a CSV import's CPU, measured; 0.2 s of 7.5 s once frozen). Collected
    first, so no garbage is kept for good."""
    import gc

    gc.collect()
    gc.freeze()


def _say(line: str) -> None:
    console.print(line, soft_wrap=True, highlight=False)


def _bind(host: str, port: int) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listen at once: a socket only bound does not keep a second server (also using
        # SO_REUSEADDR) off the port. Browsers that connect meanwhile wait in the backlog.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = ("is already in use (is another `feedback serve` running?)"
                  if exc.errno in (98, 48) else f"cannot be used: {exc.strerror or exc}")
        console.print(f"[red]cannot start:[/red] port {port} on {host} {reason}. "
                      f"Stop the other process or choose another port with --port.",
                      soft_wrap=True)
        raise typer.Exit(1) from None
    sock.set_inheritable(True)
    return sock


def _banner(url: str, demo: bool) -> list[str]:
    lines = [f"[bold green]Feedback is running at {url}[/bold green]"]
    if demo:
        lines += [f"  sign in        {url}/login as lead@demo.test, agent@demo.test or "
                  "admin@demo.test",
                  "  password       demo-password",
                  f"  sample survey  {url}/demo/survey",
                  f"  dev outbox     {url}/outbox",
                  f"  API docs       {url}/schema"]
    return [*lines, "Press Ctrl+C to stop."]


def _run(app_or_path: Any, sock: Any, banner: list[str], workers: int) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:  # listening, the lifespan done
                settle_heap()
                console.print()
                for line in banner:
                    console.print(line, soft_wrap=True, highlight=False)
                console.print()

    # log_config=None: uvicorn logs through the root handler (feedback.logs), one format.
    config = uvicorn.Config(app_or_path, factory=workers > 1, workers=workers, log_config=None,
                            log_level="info")
    if workers > 1:
        # uvicorn forks workers only from an import string; each builds its app from the
        # environment (the same FEEDBACK_* settings this process read) and serves `sock`.
        for line in banner:
            console.print(line, soft_wrap=True, highlight=False)
        Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
        return
    Server(config).run(sockets=[sock])


def _configure_logging() -> None:
    from feedback.logs import configure_logging

    configure_logging()


def _demo_worker_hook(settings: Any) -> Any:
    from feedback.worker import in_process_worker

    return in_process_worker(settings)


@app.command()
def worker() -> None:
    """Run the scheduler: dispatch, reminders, expiry, SLA watcher, retraining, rollups."""
    from feedback.worker import WorkerStartFailed, run_worker

    _configure_logging()
    try:
        run_worker(load_settings())
    except WorkerStartFailed as exc:
        console.print(f"[red]cannot start the worker:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command()
def migrate() -> None:
    """Apply every database migration (safe to run from several processes)."""
    from feedback.db import current_revisions
    from feedback.db import migrate as do_migrate

    settings = load_settings()
    engine = _engine(settings)
    do_migrate(engine)
    console.print(f"database at {sorted(current_revisions(engine))}")


@import_app.command("interactions", epilog=(
    "Columns (header row, any order; only external_id, channel and occurred_at are required): "
    "external_id, channel (phone, chat, email, ticket, …), occurred_at (ISO 8601, e.g. "
    "2026-11-23T10:00:00Z), agent, team, queue, survey (nps, csat, ces), survey_channel, "
    "operations figures (offered_at, answered_at, wait_seconds, talk_seconds, hold_seconds, "
    "wrap_seconds, abandoned, transfers, resolved, contact_reason, first_response_seconds, blocked), "
    "customer_external_id, customer_name, customer_email, customer_phone (E.164), "
    "customer_locale (en, fa, zh-CN, …), customer_time_zone (e.g. Asia/Tehran), customer_tier, "
    "and meta_<name> for any metadata."))
def import_interactions(
    file: Annotated[Path, typer.Argument(help="CSV file, UTF-8, with a header row.")],
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the valid rows and report the rest.")] = False,
    surveys: Annotated[bool, typer.Option(
        "--surveys/--no-surveys", help="Schedule surveys for recent interactions; "
        "--no-surveys records history only.")] = True,
) -> None:
    """Bulk-import interactions. All-or-nothing unless --skip-invalid."""
    from feedback.ingest.csv_import import ImportFailed, import_file

    settings = load_settings()
    engine = _engine(settings)
    from feedback.app import prepare_database

    prepare_database(settings, engine)
    settle_heap()
    try:
        report = import_file(engine, settings, file, skip_invalid=skip_invalid,
                             schedule=surveys, console=console)
    except ImportFailed as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        for line in exc.errors[:50]:
            console.print(f"  {line}", soft_wrap=True, markup=False)
        if len(exc.errors) > 50:
            console.print(f"  … and {len(exc.errors) - 50} more")
        raise typer.Exit(2) from None
    finally:
        import gc

        gc.unfreeze()  # run in-process (the tests' CliRunner), the collector is left as it was
    console.print(report.summary(), soft_wrap=True)
    for line in report.errors[:50]:
        console.print(f"  skipped {line}", soft_wrap=True, markup=False)


@users_app.command("create")
def users_create(
    email: str, name: str,
    role: Annotated[str, typer.Option(help="admin, lead or recovery")] = "lead",
    team: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(prompt=True, hide_input=True)] = None,
) -> None:
    """Create a staff account."""
    from feedback.app import prepare_database
    from feedback.auth.service import create_user
    from feedback.db import transaction

    settings = load_settings()
    engine = _engine(settings)
    prepare_database(settings, engine)
    with transaction(engine) as session:
        user = create_user(session, email=email, name=name, role=role, password=password, team=team)
    console.print(f"created user {user.email} ({user.role})")


@users_app.command("invite")
def users_invite(
    email: str, name: str,
    role: Annotated[str, typer.Option(help="admin, lead or recovery")] = "recovery",
    team: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an account without a password and print the one-time link that sets one."""
    from feedback.app import prepare_database
    from feedback.auth import accounts
    from feedback.db import transaction
    from surveys.types import utcnow

    settings = load_settings()
    engine = _engine(settings)
    prepare_database(settings, engine)
    with transaction(engine) as session:
        user, link, expires = accounts.invite(session, accounts.Who("command line"), utcnow(),
                                              settings, email=email, name=name, role=role,
                                              team=team)
    console.print(f"invited {user.email} ({user.role}); the link works once, until "
                  f"{expires:%Y-%m-%d %H:%M} UTC:")
    print(link)


@keys_app.command("create")
def keys_create(
    name: str,
    role: Annotated[str, typer.Option(help="ingest (write interactions only), lead, recovery "
                                      "or admin")] = "ingest",
    team: Annotated[str | None, typer.Option(help="limit a lead or recovery key to a team")] = None,
) -> None:
    """Create an API key; it is printed once."""
    from feedback.app import prepare_database
    from feedback.auth.service import create_api_key
    from feedback.db import transaction

    settings = load_settings()
    engine = _engine(settings)
    prepare_database(settings, engine)
    with transaction(engine) as session:
        _, plaintext = create_api_key(session, name, role, team=team)
    print(plaintext)


def main() -> None:
    from pydantic import ValidationError

    from surveys.errors import DomainError

    try:
        app()
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.message}", soft_wrap=True)
        sys.exit(2)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad setting is the admin's to fix: name the variable, not a traceback.
        for err in exc.errors():
            name = "FEEDBACK_" + "_".join(str(p) for p in err["loc"]).upper()
            message = str(err["msg"]).removeprefix("Value error, ")
            console.print(f"configuration error: {name}: {message}", soft_wrap=True,
                          markup=False, style="red")
        sys.exit(2)


if __name__ == "__main__":
    main()
