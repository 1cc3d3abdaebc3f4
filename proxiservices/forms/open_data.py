"""Form of the mediation-places import."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField


class MediationImportForm(FlaskForm):
    csv_file = FileField(
        "Fichier CSV « lieux de médiation numérique »",
        validators=[FileRequired("Choisissez le fichier CSV à importer.")],
    )
    kind = SelectField(
        "Type d'organisme des lieux sans structure parente connue",
        validate_choice=True,
    )
    dry_run = BooleanField("Vérifier seulement (simulation, rien n'est enregistré)")

    def __init__(self, kinds: list[tuple[str, str]], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kinds
        self.kind.validate_choice = True
