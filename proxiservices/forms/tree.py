"""Forms of the decision tree administration: themes, questions and answers, needs and
their search vocabulary. Lists are typed one item per line."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from proxiservices.domain.places import PLACE_LABELS
from proxiservices.forms.requests import CheckboxesField, at_most, choices

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PLACE_CHOICES = {
    "residence": "la mairie ou l'organisme de la commune de l'usager",
    **{k: v for k, v in PLACE_LABELS.items() if v},
}
BLANK_ANSWERS = 2  # empty rows offered under a question's answers, to add some


def stripped(value: str | None) -> str | None:
    """A text field as stored: trimmed, and None when empty."""
    value = (value or "").strip()
    return value or None


class LinesField(TextAreaField):
    """A list typed one item per line: blank lines dropped, spaces trimmed."""

    def __init__(self, label=None, validators=None, max_items=200, max_length=300, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.max_items, self.max_length = max_items, max_length

    def process_formdata(self, valuelist):
        if valuelist:
            lines = (" ".join(line.split()) for line in valuelist[0].splitlines())
            self.data = [line for line in lines if line]

    def _value(self) -> str:
        return "\n".join(self.data or [])

    def pre_validate(self, form) -> None:
        if len(self.data or []) > self.max_items:
            raise ValidationError(f"{self.max_items} lignes au plus.")
        too_long = next((line for line in self.data or [] if len(line) > self.max_length), None)
        if too_long:
            raise ValidationError(
                f"Ligne trop longue ({self.max_length} caractères au plus) : « {too_long[:40]}… »"
            )


class WebAddress:
    """An http(s) address with a host: what a resident's browser can open."""

    def __call__(self, form: Form, field: Field) -> None:
        value = (field.data or "").strip()
        if not value:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            raise ValidationError(
                "Adresse web invalide : elle doit commencer par https:// (ou http://), "
                "par exemple https://www.service-public.fr/."
            )


def slug_field(label: str) -> StringField:
    return StringField(label, validators=[Optional(), at_most(100)])


def check_slug(field: StringField) -> None:
    value = (field.data or "").strip()
    if value and not SLUG.match(value):
        raise ValidationError(
            "Identifiant invalide : lettres minuscules sans accent, chiffres et tirets, "
            "par exemple carte-grise-vol."
        )


class WholeNumberField(IntegerField):
    """An integer with a French message when something else is typed."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError as error:
                raise ValueError("Nombre entier attendu, par exemple 3.") from error


class ThemeForm(FlaskForm):
    title = StringField(
        "Titre du thème", validators=[DataRequired("Indiquez le titre du thème."), at_most(200)]
    )
    description = TextAreaField(
        "Description (les démarches qu'il regroupe)", validators=[Optional(), at_most(1000)]
    )
    position = WholeNumberField(
        "Ordre d'affichage (0 pour le premier thème)",
        validators=[
            InputRequired("Indiquez l'ordre d'affichage : un nombre entier."),
            NumberRange(0, 999, "Un nombre entre 0 et 999."),
        ],
    )


class AnswerForm(Form):
    """One answer row: a label and exactly one target (checked by the question form)."""

    label = StringField("Réponse", validators=[Optional(), at_most(300)])
    next_question = SelectField("Mène à la question", validate_choice=False)
    need = SelectField("Ou mène au besoin", validate_choice=False)
    position = WholeNumberField(
        "Ordre", validators=[Optional(), NumberRange(1, 99, "Un nombre entre 1 et 99.")]
    )
    remove = BooleanField("Supprimer cette réponse")

    @property
    def blank(self) -> bool:
        return (
            not (self.label.data or "").strip()
            and not self.next_question.data
            and not (self.need.data)
        )


class QuestionForm(FlaskForm):
    text = StringField(
        "Question posée", validators=[DataRequired("Indiquez la question."), at_most(300)]
    )
    help = TextAreaField("Aide pour l'agent (facultatif)", validators=[Optional(), at_most(1000)])
    answers = FieldList(FormField(AnswerForm), min_entries=0, max_entries=60)

    def set_choices(self, questions, needs) -> None:
        question_choices = [("", "— aucune —"), *((str(q.id), q.text) for q in questions)]
        need_choices = [("", "— aucun —"), *((str(n.id), f"{n.title} ({n.slug})") for n in needs)]
        for entry in self.answers:
            entry.form.next_question.choices = choices(question_choices)
            entry.form.need.choices = choices(need_choices)

    def all_fields(self) -> list[Field]:
        fields = [self.text, self.help]
        for entry in self.answers:
            fields += [entry.form.label, entry.form.next_question, entry.form.need]
            fields.append(entry.form.position)
        return fields

    def validate_answers(self, field: FieldList) -> None:
        kept = 0
        for entry in field:
            row = entry.form
            if row.remove.data or row.blank:
                continue
            kept += 1
            known_questions = {str(v) for v, *_ in row.next_question.iter_choices()}
            known_needs = {str(v) for v, *_ in row.need.iter_choices()}
            if row.next_question.data not in known_questions:
                row.next_question.errors.append("Question inconnue : choisissez dans la liste.")
            if row.need.data not in known_needs:
                row.need.errors.append("Besoin inconnu : choisissez dans la liste.")
            if not (row.label.data or "").strip():
                row.label.errors.append("Indiquez le libellé de la réponse.")
            if row.next_question.data and row.need.data:
                row.need.errors.append(
                    "Une réponse mène soit à une question, soit à un besoin, pas aux deux."
                )
            elif not row.next_question.data and not row.need.data:
                row.need.errors.append(
                    "Choisissez où mène la réponse : une question suivante ou un besoin."
                )
        if any(e.form.errors for e in field):
            raise ValidationError("Corrigez les réponses signalées.")
        if not kept:
            raise ValidationError("Une question garde au moins une réponse.")

    @property
    def answers_message(self) -> str | None:
        """The message about the answers as a whole ("at least one answer"...)."""
        return next((e for e in self.answers.errors if isinstance(e, str)), None)

    def answer_rows(self) -> list[tuple[str, int | None, int | None]]:
        """The kept answers in their new order: (label, next question id, need id)."""
        rows = []
        for index, entry in enumerate(self.answers):
            row = entry.form
            if row.remove.data or row.blank:
                continue
            order = row.position.data if row.position.data is not None else index + 1
            rows.append(
                (
                    (order, index),
                    " ".join(row.label.data.split()),
                    int(row.next_question.data) if row.next_question.data else None,
                    int(row.need.data) if row.need.data else None,
                )
            )
        rows.sort(key=lambda r: r[0])
        return [r[1:] for r in rows]


class InsertQuestionForm(FlaskForm):
    text = StringField(
        "Nouvelle question", validators=[DataRequired("Indiquez la question."), at_most(300)]
    )
    help = TextAreaField("Aide pour l'agent (facultatif)", validators=[Optional(), at_most(1000)])
    first_label = StringField(
        "Première réponse (elle mène là où menait la réponse choisie)",
        validators=[DataRequired("Indiquez le libellé de la première réponse."), at_most(300)],
    )
    slug = slug_field("Identifiant dans les adresses (facultatif, déduit de la question)")

    def validate_slug(self, field: StringField) -> None:
        check_slug(field)


class VocabularyForm(FlaskForm):
    keywords = LinesField(
        "Mots-clés (un par ligne)", max_items=300, max_length=200, validators=[Optional()]
    )
    situations = LinesField(
        "Situations (un mot ou une expression par ligne)",
        max_items=100,
        max_length=200,
        validators=[Optional()],
    )


class NeedForm(FlaskForm):
    title = StringField(
        "Titre du besoin", validators=[DataRequired("Indiquez le titre du besoin."), at_most(300)]
    )
    theme = SelectField("Thème", validate_choice=False)
    summary = TextAreaField("Résumé pour l'agent", validators=[Optional(), at_most(3000)])
    body_kind_code = SelectField("Type d'organisme compétent", validate_choice=False)
    place = SelectField(
        "Lieu compétent", choices=choices(PLACE_CHOICES.items()), validate_choice=False
    )
    documents = LinesField("Documents à apporter (un par ligne)", validators=[Optional()])
    online_url = StringField(
        "Démarche en ligne : adresse", validators=[Optional(), at_most(500), WebAddress()]
    )
    online_label = StringField(
        "Démarche en ligne : libellé du lien", validators=[Optional(), at_most(300)]
    )
    self_service = LinesField("Étapes « faire soi-même » (une par ligne)", validators=[Optional()])
    help_kinds = CheckboxesField("Lieux d'aide proposés", validate_choice=False)
    request_possible = BooleanField("Une demande de mise en relation peut être envoyée")
    notice = TextAreaField(
        "Avertissement affiché (facultatif)", validators=[Optional(), at_most(2000)]
    )
    notice_url = StringField(
        "Lien de l'avertissement", validators=[Optional(), at_most(500), WebAddress()]
    )
    source_url = StringField(
        "Source officielle", validators=[Optional(), at_most(500), WebAddress()]
    )

    def set_choices(self, themes, kinds) -> None:
        self.theme.choices = choices([("", "— sans thème —"), *((t.slug, t.title) for t in themes)])
        self.body_kind_code.choices = choices(
            [("", "— choisir —"), *((k.code, f"{k.label} ({k.code})") for k in kinds)]
        )
        self.help_kinds.choices = choices((k.code, k.label) for k in kinds)

    def _known(self, field: SelectField) -> set[str]:
        return {str(v) for v, *_ in field.iter_choices()}

    def validate_theme(self, field: SelectField) -> None:
        if field.data and field.data not in self._known(field):
            raise ValidationError("Thème inconnu : choisissez dans la liste.")

    def validate_body_kind_code(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choisissez le type d'organisme compétent.")
        if field.data not in self._known(field):
            raise ValidationError(f"Type d'organisme inconnu : « {field.data[:40]} ».")

    def validate_place(self, field: SelectField) -> None:
        if field.data not in PLACE_CHOICES:
            raise ValidationError("Lieu compétent inconnu : choisissez dans la liste.")

    def validate_help_kinds(self, field: CheckboxesField) -> None:
        unknown = set(field.data or []) - self._known(self.body_kind_code)
        if unknown:
            raise ValidationError(f"Type d'organisme inconnu : {', '.join(sorted(unknown))}.")

    def values(self, themes_by_slug, keep_order: list[str] | None = None) -> dict:
        """The need's columns from the form; help kinds keep their former order."""
        wanted = list(self.help_kinds.data or [])
        ordered = [k for k in keep_order or [] if k in wanted]
        ordered += [k for k in wanted if k not in ordered]
        return {
            "title": " ".join(self.title.data.split()),
            "theme": themes_by_slug.get(self.theme.data) if self.theme.data else None,
            "summary": stripped(self.summary.data),
            "body_kind_code": self.body_kind_code.data,
            "documents": list(self.documents.data or []),
            "online_url": stripped(self.online_url.data),
            "online_label": stripped(self.online_label.data),
            "self_service": list(self.self_service.data or []),
            "help_kinds": ordered,
            "request_possible": bool(self.request_possible.data),
            "place": self.place.data,
            "notice": stripped(self.notice.data),
            "notice_url": stripped(self.notice_url.data),
            "source_url": stripped(self.source_url.data),
        }


class NewNeedForm(NeedForm):
    slug = slug_field("Identifiant dans les adresses (facultatif, déduit du titre)")
    keywords = VocabularyForm.keywords
    situations = VocabularyForm.situations

    def validate_slug(self, field: StringField) -> None:
        check_slug(field)
