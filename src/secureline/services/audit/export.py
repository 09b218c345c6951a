"""The chain as text for the data protection officer and for partners: JSON lines or
RFC 4180 CSV (:func:`export_lines`), and read back (:func:`read_export`).

Values are exported exactly, never escaped for spreadsheets: the export is evidence whose
hashes must verify.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

import orjson

from secureline.domain.audit import AuditRecord, InvalidAuditData, decode_detail, encode_detail
from secureline.services.audit.errors import AuditError

__all__ = ["CSV_COLUMNS", "ExportFormat", "check_format", "export_lines", "read_export"]

CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "object",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)
ExportFormat = Literal["jsonl", "csv"]


def check_format(fmt: str) -> None:
    """Refuse an unknown format before anything is recorded or read."""
    if fmt not in ("jsonl", "csv"):
        raise AuditError(f"unknown export format {fmt!r}")


def export_lines(records: Iterable[AuditRecord], fmt: ExportFormat) -> Iterator[str]:
    """Lines of JSON objects (ending ``\\n``) or CSV (``\\r\\n``, header first)."""
    if fmt == "jsonl":
        for record in records:
            yield _jsonl_safe(orjson.dumps(record.to_dict()).decode()) + "\n"
    elif fmt == "csv":
        yield _csv_line(CSV_COLUMNS)
        for record in records:
            data = record.to_dict()
            data["detail"] = encode_detail(record.detail)
            yield _csv_line(tuple(str(data[column]) for column in CSV_COLUMNS))
    else:
        raise AuditError(f"unknown export format {fmt!r}")


def _csv_line(values: Sequence[str]) -> str:
    # RFC 4180 line ends: the writer then quotes every field holding \r or \n.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


#: Characters that JSON allows raw but that str.splitlines() (and some editors) break on.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _jsonl_safe(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def read_export(lines: Iterable[str], fmt: ExportFormat) -> Iterator[AuditRecord]:
    """Parse an export (ours or a partner's) back into records; raises :class:`AuditError`.

    ``lines`` may be the export's lines, any chunks of it, or the whole text as one string.
    """
    if isinstance(lines, str):
        lines = [lines]
    try:
        if fmt == "jsonl":
            for line in _split_lines(lines):
                if line.strip():
                    yield AuditRecord.from_dict(orjson.loads(line))
        elif fmt == "csv":
            reader = csv.reader(_split_lines(lines))
            header = next(reader, None)
            if header is None or tuple(header) != CSV_COLUMNS:
                raise AuditError(f"CSV export must start with the header {CSV_COLUMNS}")
            for values in reader:
                if len(values) != len(CSV_COLUMNS):
                    raise AuditError(f"CSV row has {len(values)} columns")
                data: dict[str, object] = dict(zip(CSV_COLUMNS, values, strict=True))
                data["seq"] = int(values[0]) if values[0].isdigit() else values[0]
                data["detail"] = decode_detail(values[6])
                yield AuditRecord.from_dict(data)
        else:
            raise AuditError(f"unknown export format {fmt!r}")
    except orjson.JSONDecodeError:
        raise AuditError("export line is not JSON") from None
    except InvalidAuditData as exc:
        raise AuditError(f"export record is invalid: {exc}") from None


def _split_lines(lines: Iterable[str]) -> Iterator[str]:
    # csv wants an iterable of lines; callers may hand us chunks with several lines each.
    for chunk in lines:
        yield from io.StringIO(chunk, newline="")
