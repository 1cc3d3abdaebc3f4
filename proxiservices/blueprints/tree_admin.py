"""Decision tree administration: themes, questions, needs and their vocabulary, with a preview."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_login import current_user

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import form_error, now, orientation_limits, render_page
from proxiservices.domain.roles import ADMINISTER
from proxiservices.domain.tree import TreeError
from proxiservices.extensions import db, htmx
from proxiservices.forms.tree import (
    BLANK_ANSWERS,
    InsertQuestionForm,
    NeedForm,
    NewNeedForm,
    QuestionForm,
    ThemeForm,
    VocabularyForm,
    stripped,
)
from proxiservices.models import Need, Question
from proxiservices.models.tree import CATALOGUE
from proxiservices.services import audit
from proxiservices.services import tree_admin as service
from proxiservices.services.communes import get_commune, search_communes
from proxiservices.services.orientation import OrientationError, orient
from proxiservices.services.search import search_needs

bp = Blueprint("tree_admin", __name__, url_prefix="/admin/arbre")

AUDIT_LABELS = {"field_labels": service.FIELD_LABELS, "action_labels": audit.ACTION_LABELS}
PREVIEW_COMMUNE = "88160"  # Épinal, when the administrator has not chosen a commune


def _or_404(item, what: str):
    if item is None:
        abort(404, f"{what} introuvable.")
    return item


def _saved(message: str, url: str):
    flash(message, "success")
    return redirect(url, code=303)


# -- overview ------------------------------------------------------------------------------


@bp.get("")
@permission_required(ADMINISTER)
def overview():
    query = " ".join(request.args.get("q", "")[:200].split())
    return render_page(
        "tree_admin/overview.html",
        "tree_admin/_overview.html",
        title="Arbre d'orientation",
        tree=service.tree_overview(),
        query=query,
        found=search_needs(query, 20) if query else [],
        catalogue=CATALOGUE,
    )


# -- themes --------------------------------------------------------------------------------


@bp.route("/themes/<slug>", methods=["GET", "POST"])
@permission_required(ADMINISTER)
def theme(slug: str):
    item = _or_404(service.get_theme(slug), "Thème")
    form = ThemeForm(obj=item)
    if request.method == "POST" and form.validate():
        values = {
            "title": " ".join(form.title.data.split()),
            "description": stripped(form.description.data),
            "position": form.position.data,
        }
        entry = service.update_theme(item, values, current_user, now())
        message = "Thème enregistré." if entry else "Aucun changement à enregistrer."
        return _saved(message, url_for("tree_admin.theme", slug=item.slug))
    page = render_page(
        "tree_admin/theme.html",
        "tree_admin/_theme.html",
        title=f"Thème : {item.title}",
        theme=item,
        form=form,
        questions=service.list_theme_questions(item.id),
        audit_entries=service.history("theme", item.id),
        **AUDIT_LABELS,
    )
    return form_error(page) if request.method == "POST" else page


# -- questions -----------------------------------------------------------------------------


def _question_form(question) -> QuestionForm:
    if request.method == "POST":
        form = QuestionForm()
    else:
        form = QuestionForm(
            data={
                "text": question.text,
                "help": question.help,
                "answers": [
                    {
                        "label": a.label,
                        "next_question": str(a.next_question_id or ""),
                        "need": str(a.need_id or ""),
                        "position": i,
                    }
                    for i, a in enumerate(question.answers, start=1)
                ],
            }
        )
        for _ in range(BLANK_ANSWERS):
            form.answers.append_entry()
    others = [q for q in service.list_theme_questions(question.theme_id) if q.id != question.id]
    needs = service.list_curated_needs()
    shown = {n.id for n in needs}
    needs += [a.need for a in question.answers if a.need is not None and a.need.id not in shown]
    form.set_choices(others, needs)
    return form


@bp.route("/questions/<slug>", methods=["GET", "POST"])
@permission_required(ADMINISTER)
def question(slug: str):
    item = _or_404(service.get_question(slug), "Question")
    form = _question_form(item)
    tree_error = None
    if request.method == "POST" and form.validate():
        answers = [service.AnswerInput(*row) for row in form.answer_rows()]
        try:
            entry = service.update_question(
                item,
                " ".join(form.text.data.split()),
                stripped(form.help.data),
                answers,
                current_user,
                now(),
            )
        except TreeError as error:
            db.session.rollback()
            tree_error = str(error)
        else:
            message = "Question enregistrée." if entry else "Aucun changement à enregistrer."
            return _saved(message, url_for("tree_admin.question", slug=item.slug))
    page = render_page(
        "tree_admin/question.html",
        "tree_admin/_question.html",
        title=f"Question : {item.text}",
        question=item,
        form=form,
        tree_error=tree_error,
        audit_entries=service.history("question", item.id),
        **AUDIT_LABELS,
    )
    return form_error(page) if request.method == "POST" else page


@bp.route("/reponses/<int:answer_id>/question", methods=["GET", "POST"])
@permission_required(ADMINISTER)
def insert_question(answer_id: int):
    answer = _or_404(service.get_answer(answer_id), "Réponse")
    form = InsertQuestionForm()
    tree_error = None
    if request.method == "POST" and form.validate():
        slug = (form.slug.data or "").strip()
        if slug and service.slug_taken(Question, slug):
            form.slug.errors.append("Cet identifiant est déjà pris par une autre question.")
        else:
            try:
                created = service.insert_question(
                    answer,
                    slug,
                    " ".join(form.text.data.split()),
                    stripped(form.help.data),
                    " ".join(form.first_label.data.split()),
                    current_user,
                    now(),
                )
            except TreeError as error:
                db.session.rollback()
                tree_error = str(error)
            else:
                return _saved(
                    "Question ajoutée : complétez ses réponses.",
                    url_for("tree_admin.question", slug=created.slug),
                )
    page = render_page(
        "tree_admin/insert_question.html",
        "tree_admin/_insert_question.html",
        title="Insérer une question",
        answer=answer,
        form=form,
        tree_error=tree_error,
    )
    return form_error(page) if request.method == "POST" else page


# -- needs ---------------------------------------------------------------------------------


def _preview(need):
    """The orientation result for a commune, as a resident of it would get it now (the
    saved state of the need): the commune typed, else the one of the visit, else Épinal."""
    typed = request.args.get("commune", "").strip()[:60]
    if typed:
        commune = get_commune(typed) or next(iter(search_communes(typed, 1)), None)
        if commune is None:
            return (
                None,
                typed,
                f"Commune inconnue : « {typed} ». "
                "Indiquez un nom, un code postal ou un code INSEE.",
            )
    else:
        remembered = session.get("commune")
        commune = (get_commune(remembered) if remembered else None) or get_commune(PREVIEW_COMMUNE)
        if commune is None:
            return None, "", "Aucune commune connue pour l'aperçu."
    try:
        return orient(need.slug, commune.insee, now(), **orientation_limits()), typed, None
    except OrientationError as error:
        return None, typed, str(error)


def _need_form(need) -> NeedForm:
    form = NeedForm(obj=need) if request.method == "GET" else NeedForm()
    if request.method == "GET":
        form.theme.data = need.theme.slug if need.theme is not None else ""
    form.set_choices(service.list_themes(), service.list_body_kinds())
    return form


def _render_need(need, form: NeedForm | None, vocabulary: VocabularyForm, tree_error=None):
    query = " ".join(request.args.get("q", "")[:200].split())
    check = service.check_search(need, query) if query else None
    if htmx and htmx.target == "search-check":
        return render_page(
            "tree_admin/need.html",
            "tree_admin/_search_check.html",
            need=need,
            check=check,
            title=need.title,
        )
    answer, typed, preview_error = _preview(need)
    context = dict(
        need=need,
        answer=answer,
        commune_typed=typed,
        preview_error=preview_error,
        title=need.title,
    )
    if htmx and htmx.target == "need-preview":
        return render_page("tree_admin/need.html", "tree_admin/_preview.html", **context)
    return render_page(
        "tree_admin/need.html",
        "tree_admin/_need.html",
        form=form,
        vocabulary=vocabulary,
        check=check,
        query=query,
        catalogue=need.origin == CATALOGUE,
        tree_error=tree_error,
        places=service.list_need_answers(need),
        audit_entries=service.history("need", need.id),
        **AUDIT_LABELS,
        **{**context, "title": f"Besoin : {need.title}"},
    )


@bp.route("/besoins/nouveau", methods=["GET", "POST"])
@permission_required(ADMINISTER)
def new_need():
    form = NewNeedForm()
    themes, kinds = service.list_themes(), service.list_body_kinds()
    form.set_choices(themes, kinds)
    if request.method == "GET":
        form.help_kinds.data = ["FRANCE_SERVICES", "CONSEILLER_NUMERIQUE"]
    if request.method == "POST" and form.validate():
        slug = (form.slug.data or "").strip()
        if slug and service.slug_taken(Need, slug):
            form.slug.errors.append("Cet identifiant est déjà pris par un autre besoin.")
        else:
            values = form.values({t.slug: t for t in themes})
            values.update(
                slug=slug,
                keywords=list(form.keywords.data or []),
                situations=list(form.situations.data or []),
            )
            need = service.create_need(values, current_user, now())
            return _saved(
                "Besoin créé. Faites-le suivre d'une réponse dans l'arbre pour qu'on y arrive "
                "aussi sans la recherche.",
                url_for("tree_admin.need", slug=need.slug),
            )
    page = render_page(
        "tree_admin/new_need.html",
        "tree_admin/_new_need.html",
        title="Nouveau besoin",
        form=form,
    )
    return form_error(page) if request.method == "POST" else page


@bp.route("/besoins/<slug>", methods=["GET", "POST"])
@permission_required(ADMINISTER)
def need(slug: str):
    item = _or_404(service.get_need(slug), "Besoin")
    if request.method == "POST" and item.origin == CATALOGUE:
        abort(
            403,
            "Fiche du catalogue service-public.fr : seul son vocabulaire de recherche "
            "se modifie ici.",
        )
    form = None if item.origin == CATALOGUE else _need_form(item)
    vocabulary = VocabularyForm(obj=item)
    if request.method == "POST" and form.validate():
        themes = {t.slug: t for t in service.list_themes()}
        entry = service.update_need(
            item, form.values(themes, keep_order=item.help_kinds), current_user, now()
        )
        message = "Besoin enregistré." if entry else "Aucun changement à enregistrer."
        return _saved(message, url_for("tree_admin.need", slug=item.slug))
    page = _render_need(item, form, vocabulary)
    return form_error(page) if request.method == "POST" else page


@bp.post("/besoins/<slug>/vocabulaire")
@permission_required(ADMINISTER)
def vocabulary(slug: str):
    item = _or_404(service.get_need(slug), "Besoin")
    form = VocabularyForm()
    if form.validate():
        entry = service.update_vocabulary(
            item,
            list(form.keywords.data or []),
            list(form.situations.data or []),
            current_user,
            now(),
        )
        message = (
            "Vocabulaire enregistré : la recherche en tient compte dès maintenant."
            if entry
            else "Aucun changement à enregistrer."
        )
        return _saved(message, url_for("tree_admin.need", slug=item.slug) + "#vocabulaire")
    need_form = None if item.origin == CATALOGUE else _need_form(item)
    return form_error(_render_need(item, need_form, form))
