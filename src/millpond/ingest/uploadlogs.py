"""uploadLogs: a text body and its parameters → messages and session fields (spec §1)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa

from millpond.errors import BadParam

DEFAULT_LOGFILE = "uploadLogs"
DEFAULT_PARSER = "uploadLogs"


def split_lines(body: bytes, *, max_line_bytes: int) -> list[str]:
    """Split a body into messages on `\\n`, `\\r` and `\\r\\n` only; drop empty lines.

    Invalid UTF-8 becomes U+FFFD rather than an error. `str.splitlines()` would also split on
    VT, FF, NEL, U+2028 and friends, which uploadLogs must keep inside a message; CR and LF are
    ASCII and never part of a multi-byte sequence, so decoding first and splitting after is
    the same as splitting the bytes.
    """
    text = body.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if len(body) > max_line_bytes:
        _check_line_lengths(lines, max_line_bytes)
    return list(filter(None, lines))


_SMALL_BODY = 2048


def split_lines_array(body: bytes, *, max_line_bytes: int) -> pa.StringArray:
    """`split_lines` as an Arrow string array, built from the bytes without a str per line.

    The same messages and the same errors as `split_lines`. The body is split with NumPy: the
    values are the body less its LF bytes, the offsets come from the LF positions; Arrow then
    checks each message is valid UTF-8. Small bodies, and bodies with a message that is not
    valid UTF-8 (which `split_lines` repairs with U+FFFD), take the `split_lines` path.
    """
    if len(body) < _SMALL_BODY or len(body) >= 2**31:
        return pa.array(split_lines(body, max_line_bytes=max_line_bytes), pa.string())
    original = body
    if b"\r" in body:  # CR and LF never occur inside a multi-byte UTF-8 sequence
        body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 0x0A)
    bounds = np.empty(len(newlines) + 2, dtype=np.int64)
    bounds[0] = -1
    bounds[1:-1] = newlines
    bounds[-1] = len(body)
    lengths = np.diff(bounds) - 1
    kept = lengths[lengths > 0]  # empty lines are dropped
    offsets = np.zeros(len(kept) + 1, dtype=np.int32)
    np.cumsum(kept, out=offsets[1:])
    values = body.replace(b"\n", b"")
    messages = pa.StringArray.from_buffers(len(kept), pa.py_buffer(offsets), pa.py_buffer(values))
    if not body.isascii():
        try:  # each message on its own: a sequence cut by a line break is invalid
            messages.validate(full=True)
        except pa.ArrowInvalid:
            return pa.array(split_lines(original, max_line_bytes=max_line_bytes), pa.string())
    if len(body) > max_line_bytes:
        too_long = np.flatnonzero(lengths > max_line_bytes)
        if len(too_long):  # numbered as in the sender's file: empty lines count
            number, size = int(too_long[0]) + 1, int(lengths[too_long[0]])
            raise BadParam(
                f"line {number} is {size} bytes long, over the limit of {max_line_bytes} "
                "bytes per line; split it, or raise MILLPOND_MAX_LINE_BYTES"
            )
    return messages


def _check_line_lengths(lines: list[str], max_line_bytes: int) -> None:
    # Empty lines still count, so the number is the line's number in the sender's file.
    # A line longer than the cap in bytes is at least cap/4 characters long.
    for number, line in enumerate(lines, 1):
        if len(line) * 4 > max_line_bytes and len(line.encode()) > max_line_bytes:
            raise BadParam(
                f"line {number} is {len(line.encode())} bytes long, over the limit of "
                f"{max_line_bytes} bytes per line; split it, or raise MILLPOND_MAX_LINE_BYTES"
            )


@dataclass(frozen=True)
class UploadParams:
    """What the URL parameters and headers of one uploadLogs request say."""

    server_host: str | None = None
    logfile: str = DEFAULT_LOGFILE
    parser: str = DEFAULT_PARSER
    server_fields: Mapping[str, str] = field(default_factory=dict)
    nonce: str | None = None

    def session_fields(self, server_ip: str | None) -> dict[str, str]:
        """The session ("server") fields: `server-X` fields, `serverHost` and `serverIP`."""
        fields = dict(self.server_fields)
        if self.server_host is not None:
            fields["serverHost"] = self.server_host
        if server_ip:
            fields["serverIP"] = server_ip
        return fields


def upload_params(
    query: Iterable[tuple[str, str]], headers: Iterable[tuple[str, str]]
) -> UploadParams:
    """Collect `host`, `logfile`, `parser`, `server-*` and `Nonce` from headers and URL.

    A URL parameter wins over a header of the same name. The header `Host` is HTTP's own and
    never sets the host: `server-host` does. Header names arrive lower-cased (HTTP header
    names are case-insensitive), so a `server-X` field given as a header has a lower-case name;
    a URL parameter keeps the case it was given in.
    """
    values: dict[str, str] = {}
    server_fields: dict[str, str] = {}
    for source_is_url, pairs in ((False, headers), (True, query)):
        for raw_name, value in pairs:
            name = raw_name.lower()
            if name == "host":
                if source_is_url:
                    values["host"] = value
            elif name == "server-host":
                values["host"] = value
            elif name in ("logfile", "parser", "nonce"):
                values[name] = value
            elif name.startswith("server-") and len(name) > len("server-"):
                field_name = raw_name[len("server-"):]
                if not source_is_url:
                    field_name = field_name.lower()
                server_fields[field_name] = value
    return UploadParams(
        server_host=values.get("host"),
        logfile=values.get("logfile") or DEFAULT_LOGFILE,
        parser=values.get("parser") or DEFAULT_PARSER,
        server_fields=server_fields,
        nonce=values.get("nonce") or None,
    )


def session_id_for(account_id: int, fields: Mapping[str, str]) -> str:
    """A session id derived from the session fields.

    Every uploadLogs request from the same host with the same `server-*` fields lands in the
    same session, so the sessions table grows with the number of senders, not of requests.
    """
    digest = hashlib.blake2b(
        orjson.dumps([account_id, fields], option=orjson.OPT_SORT_KEYS), digest_size=12
    )
    return "upl-" + digest.hexdigest()
