"""The `millpond` command: thin shims over library calls."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
import orjson

from millpond.admin import open_admin
from millpond.errors import MillpondError
from millpond.settings import SETTINGS, Setting, from_env
from millpond.settings import Settings as _Settings


class _Group(click.Group):
    """Render millpond errors as one line on stderr with their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MillpondError as exc:
            click.echo(f"millpond: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except ValueError as exc:  # settings that do not validate
            click.echo(f"millpond: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="millpond")
def main() -> None:
    """millpond: a self-hosted log server that speaks the Scalyr / DataSet API."""


def _setting_option(setting: Setting) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        setting.flag,
        setting.name,
        type=setting.type,
        default=None,
        envvar=setting.env,
        show_envvar=True,
        help=f"{setting.help} [default: {setting.default if setting.default != '' else 'none'}]",
    )


def _serve_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for setting in reversed(SETTINGS):
        fn = _setting_option(setting)(fn)
    return fn


@main.command()
@_serve_options
def serve(**flags: Any) -> None:
    """Run the server (HTTP API, and the admin socket in the data directory)."""
    from millpond.server import serve as run_server

    run_server(from_env(**flags))


_data_dir = click.option(
    "--data-dir",
    "data_dir",
    default=None,
    envvar="MILLPOND_DATA_DIR",
    show_envvar=True,
    help="The server's data directory [default: ./millpond-data].",
)


def _settings(data_dir: str | None) -> _Settings:
    return from_env(data_dir=data_dir)


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    text = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for t in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip())


@main.group(cls=_Group)
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["write-logs", "read-logs", "read-config", "write-config"]),
    help="What the token may do (spec §6).",
)
@click.option("--account", default="default", show_default=True, help="The account it acts for.")
@click.option("--label", default="", help="A note to recognise it by in 'token list'.")
@_data_dir
def token_create(kind: str, account: str, label: str, data_dir: str | None) -> None:
    """Create a token and print only the token, so scripts can capture it."""
    with open_admin(_settings(data_dir)) as admin:
        created = admin.create_token(kind, account, label)
    click.echo(created["token"])
    if sys.stderr.isatty():
        click.echo(f"(token id {created['id']}; it is shown only this once)", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_data_dir
def token_list(as_json: bool, data_dir: str | None) -> None:
    """List tokens: id, kind, account, label, created, last used, revoked. Never secrets."""
    with open_admin(_settings(data_dir)) as admin:
        rows = admin.list_tokens()
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    else:
        _print_table(rows, ["id", "kind", "account", "label", "created", "last_used", "revoked"])


@token.command("revoke")
@click.argument("token_id")
@_data_dir
def token_revoke(token_id: str, data_dir: str | None) -> None:
    """Revoke a token by its id (see 'millpond token list'); it stops working at once."""
    with open_admin(_settings(data_dir)) as admin:
        revoked = admin.revoke_token(token_id)
    click.echo(f"revoked {revoked['id']} ({revoked['kind']}, account {revoked['account']})")


@main.group(cls=_Group)
def account() -> None:
    """Create and list accounts (tenants whose data never mix)."""


@account.command("create")
@click.argument("name")
@_data_dir
def account_create(name: str, data_dir: str | None) -> None:
    """Create an account."""
    with open_admin(_settings(data_dir)) as admin:
        created = admin.create_account(name)
    click.echo(f"created account {created['name']} (id {created['id']})")


@account.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_data_dir
def account_list(as_json: bool, data_dir: str | None) -> None:
    """List accounts."""
    with open_admin(_settings(data_dir)) as admin:
        rows = admin.list_accounts()
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    else:
        _print_table(rows, ["id", "name", "created"])


if __name__ == "__main__":
    main()
