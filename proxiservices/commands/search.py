"""`flask search-eval CASES.json`: how well search finds the body for walk-in phrases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from proxiservices.domain.evaluation import CaseFormatError, evaluate, parse_cases
from proxiservices.services.search import search_needs


@click.command("search-eval")
@click.argument("cases_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--failures-only", is_flag=True, help="N'affiche que les cas manqués en top 3.")
def search_eval_command(cases_file: Path, failures_only: bool) -> None:
    """Affiche le top 3 de chaque phrase puis la précision top 1 et top 3."""
    try:
        cases = parse_cases(json.loads(cases_file.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{cases_file} n'est pas un JSON lisible : {error}") from error
    except CaseFormatError as error:
        raise click.ClickException(str(error)) from error
    if not cases:
        raise click.ClickException(f"{cases_file} ne contient aucun cas.")
    result = evaluate(
        cases, lambda phrase: [(r.slug, r.body_kind) for r in search_needs(phrase, 3)]
    )
    for outcome in result.outcomes:
        mark = "ok " if outcome.top1 else ("top3" if outcome.top3 else "RATÉ")
        if failures_only and outcome.top3:
            continue
        click.echo(f"[{mark:4}] {outcome.case.id} « {outcome.case.phrase} »")
        accepted = ", ".join((outcome.case.expected, *outcome.case.acceptable))
        click.echo(f"       attendu : {accepted}")
        for rank, (slug, kind) in enumerate(outcome.top, start=1):
            click.echo(f"       {rank}. {slug} ({kind})")
        if not outcome.top:
            click.echo("       (aucun résultat)")
    total = len(result.outcomes)
    top1 = sum(o.top1 for o in result.outcomes)
    top3 = sum(o.top3 for o in result.outcomes)
    click.echo(
        f"{total} cas – top 1 : {top1}/{total} ({result.top1:.1%}) – "
        f"top 3 : {top3}/{total} ({result.top3:.1%})"
    )
