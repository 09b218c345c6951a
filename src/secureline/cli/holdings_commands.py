"""``secureline holdings import``: the organisation's own holdings into the index, as the
node's administrator. One file is one transaction: at its first bad line nothing of it is
kept, and running the same import again (after fixing the line, or after an interruption)
replaces what the same source held under the same ids."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secureline.cli import common, render
from secureline.cli.common import Dir, Json, err, out
from secureline.cli.session import administrator

holdings_app = typer.Typer(no_args_is_help=True, help="The index of the node's holdings.")


@holdings_app.command("import")
def holdings_import(
    file: Annotated[Path, typer.Argument(help="FtM JSON lines, or CSV with --schema and --map.")],
    directory: Dir,
    source: Annotated[str, typer.Option(help="Where the holdings come from (kept with each).")],
    unit: Annotated[str, typer.Option(help="The unit that holds them and may see them.")],
    handling: Annotated[str, typer.Option(help="Their handling code, H0 to H3.")] = "H0",
    schema: Annotated[
        str | None, typer.Option(help="A CSV file's FtM schema (e.g. Person); CSV only.")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="CSV only: PROPERTY=COLUMN, repeated; id=COLUMN is required "
            "(e.g. --map id=ref --map name=full_name --map birthDate=dob).",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Import holdings: FtM JSON lines (one entity a line), or a CSV file (--schema, --map).

    Example: secureline holdings import people.csv --dir ./ncb --source register
    --unit ncb --schema Person --map id=ref --map name=full_name --map birthDate=dob
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from secureline.services.matching import readers

    if not file.is_file():
        common.fail(f"{file}: no such file")
    is_csv = schema is not None or file.suffix.lower() == ".csv"
    if is_csv and schema is None:
        common.fail("a CSV file needs --schema (and --map PROPERTY=COLUMN)")
    if not is_csv and mapping:
        common.fail("--map is for CSV files; JSON lines carry their own properties")
    from secureline.services.errors import ServiceError

    try:
        columns = readers.parse_mapping(mapping or []) if is_csv else None
    except ServiceError as exc:
        common.fail(exc.message)
    node = common.node_at(directory)
    size = file.stat().st_size
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task(f"importing {file.name}", total=size)
        try:
            done = node.holdings.import_file(
                administrator(),
                file,
                source=source,
                unit=unit,
                handling=handling,
                csv_schema=schema if is_csv else None,
                mapping=columns,
                progress=lambda at: progress.update(task, completed=at),
            )
        except ServiceError as exc:
            common.fail(f"{exc.message} (nothing of {file.name} was imported)")
    if as_json:
        print(render.dumps({"source": done.source, "entities": done.entities, "lines": done.lines}))
        return
    out.print(f"{done.entities} entities from {file.name} indexed as {done.source}")
