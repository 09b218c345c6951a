"""Holdings files read line by line: FollowTheMoney JSON lines, or CSV with a column
mapping. A line that cannot be read raises :class:`BadLine` naming it; nothing is held in
memory beyond one line, so a file larger than memory streams through."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.proxy import EntityProxy

from secureline.services.errors import InvalidInput

Progress = Callable[[int], None]  # bytes read so far
#: lines between two reports of progress: a bar redrawn per line would cost more than the line
_EVERY = 1_000


class BadLine(InvalidInput):
    """A holdings file's line that cannot be imported; ``line`` is 1-based."""

    def __init__(self, path: Path, line: int, why: str) -> None:
        super().__init__(f"{path.name} line {line}", why, code="bad_holdings_line")
        self.line = line


def _entity(path: Path, line: int, data: Any) -> EntityProxy:
    if not isinstance(data, dict):
        raise BadLine(path, line, "not a JSON object")
    schema = data.get("schema")
    if not isinstance(schema, str) or model.get(schema) is None:
        raise BadLine(path, line, f"unknown schema {schema!r}")
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise BadLine(path, line, "no entity id")
    try:
        entity = model.get_proxy(data, cleaned=False)
    except (InvalidData, TypeError, ValueError) as exc:
        raise BadLine(path, line, str(exc)) from exc
    return entity


def ftm_lines(path: Path, progress: Progress | None = None) -> Iterator[tuple[int, EntityProxy]]:
    done = 0
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            done += len(raw)
            if progress is not None and number % _EVERY == 0:
                progress(done)
            if not raw.strip():
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise BadLine(path, number, f"not JSON ({exc})") from exc
            yield number, _entity(path, number, data)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``PROPERTY=COLUMN`` pairs; ``id`` names the column that identifies a row."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        prop, sep, column = pair.partition("=")
        if not sep or not prop.strip() or not column.strip():
            raise InvalidInput(f"--map {pair}", "write PROPERTY=COLUMN")
        mapping[prop.strip()] = column.strip()
    if "id" not in mapping:
        raise InvalidInput("--map", "id=COLUMN is required: a row's id makes re-import idempotent")
    return mapping


def csv_rows(
    path: Path,
    schema: str,
    mapping: Mapping[str, str],
    progress: Progress | None = None,
) -> Iterator[tuple[int, EntityProxy]]:
    _check_mapping(schema, mapping)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadLine(path, 1, str(exc)) from exc
        missing = sorted(set(mapping.values()) - set(header))
        if missing:
            raise BadLine(path, 1, f"no column {', '.join(map(repr, missing))} in the header")
        where = {column: header.index(column) for column in mapping.values()}
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise BadLine(path, reader.line_num, str(exc)) from exc
            number = reader.line_num
            if progress is not None and number % _EVERY == 0:
                progress(raw.tell())
            if not row:
                continue
            if len(row) != len(header):
                raise BadLine(path, number, f"{len(row)} fields, the header has {len(header)}")
            yield number, _entity(path, number, _row_data(schema, mapping, where, row))


def _check_mapping(schema: str, mapping: Mapping[str, str]) -> None:
    described = model.get(schema)
    if described is None:
        raise InvalidInput("--schema", f"unknown schema {schema!r}", code="unknown_schema")
    for prop in mapping:
        if prop != "id" and described.get(prop) is None:
            raise InvalidInput(f"--map {prop}", f"{schema} has no property {prop!r}")


def _row_data(
    schema: str, mapping: Mapping[str, str], where: Mapping[str, int], row: list[str]
) -> dict[str, Any]:
    data: dict[str, Any] = {"schema": schema, "properties": {}}
    for prop, column in mapping.items():
        value = row[where[column]].strip()
        if prop == "id":
            data["id"] = value
        elif value:
            data["properties"][prop] = [value]
    return data
