"""Log parsers (spec §5): the parser language, compiled, and the built-in parsers.

    parser = compile_parser("web", text, lookup=read_other_parser)   # or builtin_parser("json")
    for event in parser.parse(lines_of_one_session_and_thread):
        event.index, event.message, event.fields, event.ts_ns, event.severity

`parser.py` holds the language (top-level keys and format objects), `groupers.py` the line
groupers, `rewrites.py` the rewrite rules, `formats.py` the format strings and field matchers,
`builtin/*.conf` the built-in parsers, written in the language itself.
"""

from millpond.parsers.parser import (
    BUILTIN_NAMES,
    Parsed,
    Parser,
    ParserError,
    builtin_parser,
    compile_parser,
)

__all__ = ["BUILTIN_NAMES", "Parsed", "Parser", "ParserError", "builtin_parser", "compile_parser"]
