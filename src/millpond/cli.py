"""The `millpond` command: thin shims over library calls."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import click
import httpx
import orjson

from millpond import render
from millpond.admin import open_admin
from millpond.client import DEFAULT_URL, QueryClient, follow
from millpond.clock import Clock, SystemClock
from millpond.errors import BadParam, MillpondError, NotFound
from millpond.query.times import parse_time
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


# -- searching a running server ----------------------------------------------------------------


@dataclass(frozen=True)
class Runtime:
    """What the query commands touch outside the process. Tests pass their own: main(obj=…)."""

    transport: httpx.BaseTransport | None = None  # None: the network
    sleep: Callable[[float], None] = time.sleep
    clock: Clock = field(default_factory=SystemClock)
    tz: dt.tzinfo | None = None  # None: the local time zone
    terminal: bool | None = None  # whether stdout is a terminal; None: ask it


@dataclass(frozen=True)
class _Remote:
    """The options every query command shares, resolved."""

    runtime: Runtime
    url: str
    token: str | None
    output: str
    color: bool

    def client(self, kind: str = "read-logs") -> QueryClient:
        """A client of the server; `kind` is the token kind the command needs."""
        return QueryClient(self.url, self.token, transport=self.runtime.transport, kind=kind)

    def echo(self, lines: Iterable[str], header: str | None = None) -> None:
        """Print `lines`, after `header` — which waits for the first answer, so that a request
        that fails prints nothing on stdout."""
        for line in lines:
            if header is not None:
                click.echo(header, color=self.color)
                header = None
            click.echo(line, color=self.color)
        if header is not None:
            click.echo(header, color=self.color)


def _remote_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --token, --output and --color, handed to the command as one `remote` argument."""
    return _with_remote(fn, outputs=True)


def _server_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--url and --token only, as a `remote` argument, for commands that print no events."""
    return _with_remote(fn, outputs=False)


def _with_remote(fn: Callable[..., Any], *, outputs: bool) -> Callable[..., Any]:
    def command(
        *args: Any, url: str, token: str | None, output: str = "text", color: str = "never",
        **kwargs: Any,
    ) -> Any:
        runtime = click.get_current_context().find_object(Runtime) or Runtime()
        terminal = sys.stdout.isatty() if runtime.terminal is None else runtime.terminal
        # NO_COLOR (https://no-color.org) is a convention of terminal programs, not a millpond
        # setting, so it is read here rather than in settings.py.
        use_color = render.use_color(color, isatty=terminal, no_color=os.environ.get("NO_COLOR"))
        remote = _Remote(runtime, url, token, output, use_color)
        return fn(*args, remote=remote, **kwargs)

    command.__name__ = fn.__name__
    command.__doc__ = fn.__doc__
    options = [
        click.option(
            "--url", default=DEFAULT_URL, show_default=True, envvar="MILLPOND_URL",
            show_envvar=True, help="Where the millpond server listens.",
        ),
        click.option(
            "--token", default=None, envvar="MILLPOND_TOKEN", show_envvar=True,
            help="A read-logs (or read-config / write-config) API token.",
        ),
    ]
    if outputs:
        options += [
            click.option(
                "--output", "-o", type=click.Choice(render.OUTPUTS), default="text",
                show_default=True, help="How to print the answer.",
            ),
            click.option(
                "--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                show_default=True,
                help="Colour text output: auto = on a terminal, unless NO_COLOR is set.",
            ),
        ]
    wrapped: Callable[..., Any] = command
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


_filter_argument = click.argument("filter_text", metavar="[FILTER]", required=False, default="")
_START_HELP = "Start of the range: 10m, 4h, 7d, epoch s/ms/ns or ISO-8601"
_end_option = click.option(
    "--end", default=None, help="End of the range, same forms as --start [default: now]."
)


def _columns(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


@main.command()
@_filter_argument
@click.option("--start", default="1h", show_default=True, help=_START_HELP + ".")
@_end_option
@click.option(
    "--count", type=click.IntRange(min=1), default=100, show_default=True,
    help="How many matches; past 5000 they are fetched page by page.",
)
@click.option(
    "--columns", default=None,
    help="Comma-separated fields to show as well (JSON output: only these).",
)
@click.option(
    "--mode", type=click.Choice(["head", "tail"]), default="tail", show_default=True,
    help="tail: the newest matches of the range; head: the oldest. Printed oldest first.",
)
@_remote_options
def query(
    filter_text: str, start: str, end: str | None, count: int, columns: str | None,
    mode: str, remote: _Remote,
) -> None:
    """Print the events that match FILTER (all events when it is left out).

    \b
    millpond query 'error' --start 4h
    millpond query '$serverHost == "web-1" status >= 500' --columns status,path -o csv
    """
    wanted = _columns(columns)
    fmt = render.MatchFormat(remote.output, wanted, remote.color, remote.runtime.tz)
    with remote.client() as client:
        matches = client.search(
            count, filter=filter_text, start=start, end=end, page_mode=mode,
            columns=render.request_columns(remote.output, wanted),
        )
        remote.echo((fmt.line(m, sessions) for m, sessions in matches), fmt.header())


@main.command()
@_filter_argument
@click.option(
    "--start", default="10m", show_default=True, help=_START_HELP + ", for the first poll."
)
@click.option(
    "--interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
    help="Seconds between polls.",
)
@_remote_options
def tail(filter_text: str, start: str, interval: float, remote: _Remote) -> None:
    """Print matching events as they arrive, until Ctrl-C.

    \b
    millpond tail
    millpond tail 'error or warning' --start 1h
    """
    fmt = render.MatchFormat(remote.output, (), remote.color, remote.runtime.tz)
    try:
        with remote.client() as client:
            arriving = follow(
                client, filter=filter_text, start=start, interval=interval,
                sleep=remote.runtime.sleep,
            )
            remote.echo((fmt.line(m, sessions) for m, sessions in arriving), fmt.header())
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a tail ends


@main.command()
@click.argument("field_name", metavar="FIELD")
@_filter_argument
@click.option("--start", default="1h", show_default=True, help=_START_HELP + ".")
@_end_option
@click.option(
    "--count", type=click.IntRange(1, 1000), default=20, show_default=True,
    help="How many of the most common values.",
)
@_remote_options
def facet(
    field_name: str, filter_text: str, start: str, end: str | None, count: int, remote: _Remote
) -> None:
    """Print the most common values of FIELD among the events that match FILTER.

    \b
    millpond facet serverHost
    millpond facet status 'path contains "/api/"' --start 1d
    """
    with remote.client() as client:
        answer = client.facet(
            field_name, filter=filter_text, start=start, end=end, max_count=count
        )
    remote.echo(render.facet_lines(answer, remote.output, color=remote.color))


@main.command()
@click.argument("function")
@_filter_argument
@click.option("--start", default="1h", show_default=True, help=_START_HELP + ".")
@_end_option
@click.option(
    "--buckets", type=click.IntRange(1, 5000), default=60, show_default=True,
    help="How many equal time slices to split the range into.",
)
@_remote_options
def numeric(
    function: str, filter_text: str, start: str, end: str | None, buckets: int,
    remote: _Remote,
) -> None:
    """Print FUNCTION (count, rate, mean(f), p99(f), …) over time, with a chart.

    \b
    millpond numeric count 'error' --start 1d --buckets 24
    millpond numeric 'p99(latency)' '$serverHost == "web-1"'
    """
    with remote.client() as client:
        answer = client.numeric(
            function, filter=filter_text, start=start, end=end, buckets=buckets
        )
    values: list[Any] = answer.get("values") or []
    starts = _bucket_starts(start, end, len(values), remote.runtime.clock)
    remote.echo(
        render.numeric_lines(
            values, starts, remote.output, color=remote.color, tz=remote.runtime.tz
        )
    )


def _bucket_starts(start: str, end: str | None, buckets: int, clock: Clock) -> list[int] | None:
    """When each bucket began, by this machine's clock; None if the times do not parse here."""
    if buckets == 0:
        return None
    now = clock.now_ns()
    try:
        start_ns = parse_time(start, now_ns=now, name="--start")
        end_ns = now if end is None else parse_time(end, now_ns=now, name="--end")
    except MillpondError:
        return None
    return render.bucket_starts(start_ns, end_ns, buckets)


# -- parsers: config files at /logParsers/NAME on a running server ------------------------------

PARSER_DIR = "/logParsers/"


@main.group("parser", cls=_Group)
def parser_group() -> None:
    """List, show and define the parsers of a running server (/logParsers/NAME files).

    \b
    millpond parser list
    millpond parser get accessLog
    millpond parser put myApp myApp.conf
    millpond parser test myApp samples.log
    """


@parser_group.command("list")
@_remote_options
def parser_list(remote: _Remote) -> None:
    """Every parser name events arrive with or that is defined: its definition (defined,
    builtin or undefined), how many events came with it and when the last did.

    Needs a read-config (or write-config) token.
    """
    with remote.client("read-config") as client:
        parsers: list[dict[str, Any]] = client.list_files().get("parsers") or []
    rows = [_parser_row(p, remote.runtime.tz) for p in parsers]
    columns = ["name", "definition", "events", "last used"]
    if remote.output == "json":
        remote.echo(orjson.dumps(p).decode() for p in parsers)
    elif remote.output == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.replace(" ", "_") for c in columns])
        for parser, row in zip(parsers, rows, strict=True):
            last = parser.get("lastUsedDate")
            when = "" if last is None else render.utc_iso(int(last) * 1_000_000)
            writer.writerow([row["name"], row["definition"], row["events"], when])
        click.echo(out.getvalue(), nl=False)
    else:
        _print_table(rows, columns)


def _parser_row(parser: dict[str, Any], tz: dt.tzinfo | None) -> dict[str, Any]:
    if parser.get("defined"):
        definition = "defined"  # a file wins over a built-in parser of the same name
    elif parser.get("builtin"):
        definition = "builtin"
    else:
        definition = "undefined"
    last = parser.get("lastUsedDate")
    return {
        "name": parser.get("name"),
        "definition": definition,
        "events": parser.get("events", 0),
        "last used": "-" if last is None else render.local_time(int(last) * 1_000_000, tz),
    }


@parser_group.command("get")
@click.argument("name")
@_server_options
def parser_get(name: str, remote: _Remote) -> None:
    """Print the definition of the parser NAME (the file /logParsers/NAME) as it is stored.

    Needs a read-config (or write-config) token.
    """
    with remote.client("read-config") as client:
        answer = client.get_file(PARSER_DIR + name)
    if answer.get("status") == "success/noSuchFile":
        from millpond.web.configfiles import builtin_names

        if name in builtin_names():
            raise NotFound(
                f"{name} is a built-in parser, so there is no file {PARSER_DIR}{name}; "
                f"to change it, define your own under that name with "
                f"'millpond parser put {name} FILE'"
            )
        raise NotFound(
            f"there is no parser file {PARSER_DIR}{name}; define it with 'millpond parser "
            f"put {name} FILE' ('millpond parser list' shows the names in use)"
        )
    content = str(answer.get("content", ""))
    terminal = sys.stdout.isatty() if remote.runtime.terminal is None else remote.runtime.terminal
    # Exactly the stored text when piped, so `get` > file and `put` file round-trip.
    click.echo(content, nl=terminal and not content.endswith("\n"))


@parser_group.command("put")
@click.argument("name")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@_server_options
def parser_put(name: str, file: TextIO, remote: _Remote) -> None:
    """Define (or replace) the parser NAME with the text of FILE ('-' reads standard input).

    The server refuses a definition that does not compile and says where it is wrong. Events
    that arrive from now on are parsed with it. Needs a write-config token.
    """
    try:
        content = file.read()
    except UnicodeDecodeError as exc:
        raise BadParam(
            f"{file.name} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
    with remote.client("write-config") as client:
        answer = client.put_file(PARSER_DIR + name, content)
    click.echo(f"saved {PARSER_DIR}{name}, version {answer.get('version')}")


@parser_group.command("test")
@click.argument("name")
@click.argument("samples", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--definition", type=click.File("r", encoding="utf-8"),
              help="Test this parser file (e.g. before 'parser put'), not the server's.")
@_remote_options
def parser_test(name: str, samples: TextIO, definition: TextIO | None, remote: _Remote) -> None:
    """Run the parser NAME over sample lines (SAMPLES, or standard input) and print the event
    each makes: its time, severity and fields — what ingest would store.

    The definition is --definition FILE, else the server's /logParsers/NAME (with a
    read-config token), else the built-in parser NAME. Parsing runs here; nothing is stored.

    \b
    millpond parser test accessLog access.log
    tail -5 app.log | millpond parser test myApp --definition myApp.conf
    """
    from millpond.parsers import builtin_parser, compile_parser

    fetched: dict[str, str | None] = {}

    def fetch(other: str) -> str | None:
        if other not in fetched:
            fetched[other] = None
            if remote.token:
                with remote.client("read-config") as client:
                    answer = client.get_file(PARSER_DIR + other)
                if answer.get("status") == "success":
                    fetched[other] = str(answer.get("content", ""))
        return fetched[other]

    if definition is not None:
        parser = compile_parser(name, definition.read(), lookup=fetch)
    elif (text := fetch(name)) is not None:
        parser = compile_parser(name, text, lookup=fetch)
    elif (built_in := builtin_parser(name)) is not None:
        parser = built_in
    else:
        where = "the server has no file" if remote.token else "no --token to read"
        raise NotFound(
            f"no parser {name!r}: {where} {PARSER_DIR}{name}, and there is no built-in parser "
            "of that name; pass --definition FILE to test a parser file"
        )
    lines = samples.read().splitlines()
    events = parser.parse(lines, now_ns=remote.runtime.clock.now_ns())
    remote.echo(render.parsed_lines(events, lines, remote.output, color=remote.color,
                                    tz=remote.runtime.tz))


if __name__ == "__main__":
    main()
