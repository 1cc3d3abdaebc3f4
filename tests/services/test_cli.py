"""The operations commands of DESIGN.md, run as an operator would."""

from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import Commune


def test_flask_seed_command_loads_and_reports(blank):
    runner = blank.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "Données chargées" in first.output
    assert db.session.scalar(select(func.count()).select_from(Commune)) == 506
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0
    assert "Aucun changement" in again.output
