"""``secureline match``: search the holdings index as the logged-in person, and
``match compare``: the matcher measured on labelled name pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from secureline.cli import common, render
from secureline.cli.common import Json, out

match_app = typer.Typer(
    help="Search the index of holdings by name (and birth date, nationality, identifiers).",
)


@match_app.callback(invoke_without_command=True)
def match(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The name to look for, in any script.")] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="The node directory.", show_default=False)
    ] = None,
    birth_date: Annotated[str | None, typer.Option(help="YYYY, YYYY-MM or YYYY-MM-DD.")] = None,
    nationality: Annotated[str | None, typer.Option(help="ISO country code, e.g. ru.")] = None,
    schema: Annotated[str, typer.Option(help="The FtM schema of what is sought.")] = "Person",
    identifier: Annotated[
        list[str] | None,
        typer.Option("--id", help="PROPERTY=VALUE, e.g. passportNumber=X123 (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    as_json: Json = False,
) -> None:
    """Ranked candidates for a name among what your unit may see, with the reasons.

    Example: secureline match --name "Ivan Petrov" --birth-date 1970 --dir ./ncb --json
    """
    if ctx.invoked_subcommand is not None:
        return
    if name is None or directory is None:
        common.fail("give --name and --dir (or a subcommand: compare)")
    from secureline.cli.session import person
    from secureline.services.matching.index import query_entity

    ids: dict[str, str] = {}
    for pair in identifier or []:
        prop, sep, value = pair.partition("=")
        if not sep or not value:
            common.fail(f"--id {pair}: write PROPERTY=VALUE")
        ids[prop] = value
    from secureline.services.errors import ServiceError

    node = common.node_at(directory)
    try:
        query = query_entity(
            name=name, schema=schema, birth_date=birth_date, nationality=nationality,
            identifiers=ids,
        )  # fmt: skip
        found = node.holdings.match(person(node), query, limit=limit, threshold=threshold)
    except ServiceError as exc:
        common.fail(exc.message)
    if as_json:
        print(render.dumps([m.as_json() for m in found]))
        return
    table = Table("score", "caption", "schema", "source", "handling", "why")
    for m in found:
        why = "; ".join(
            f"{r.property} {'agrees' if r.agrees else 'differs'} {r.score:.2f} {r.detail}".strip()
            for r in m.reasons
        )
        table.add_row(f"{m.score:.2f}", m.holding.caption, m.holding.schema, m.holding.source,
                      m.holding.handling, why)  # fmt: skip
    out.print(table)


@match_app.command("compare")
def compare(
    pairs: Annotated[Path, typer.Argument(help="CSV with the columns left,right,same.")],
    threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    schema: Annotated[str, typer.Option(help="The schema both names are scored as.")] = "Person",
    as_json: Json = False,
) -> None:
    """Score every pair and print precision, recall, F1 and AUC at the threshold.

    Example: secureline match compare tests/data/name_pairs.csv --json
    """
    from secureline.services.matching import quality
    from secureline.services.matching.scoring import DEFAULT_THRESHOLD

    if not pairs.is_file():
        common.fail(f"{pairs}: no such file")
    result = quality.compare(pairs, DEFAULT_THRESHOLD if threshold is None else threshold, schema)
    if as_json:
        print(render.dumps(result))
        return
    out.print(
        f"n={result['n']} threshold={result['threshold']} precision={result['precision']} "
        f"recall={result['recall']} f1={result['f1']} auc={result['auc']}"
    )
    for script, figures in result["per_script"].items():
        out.print(f"  {script}: {figures}")
