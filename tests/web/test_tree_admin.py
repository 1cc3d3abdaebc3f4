"""Administering the decision tree: an administrator reads the whole tree, edits a question's
answers (refused when it would break the tree), creates a need that search then finds,
checks the words residents would type, previews the result for a commune, and every change
is listed with its before and after. Nobody else gets in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import Answer, AuditEntry, Need, Question
from proxiservices.services.search import search_needs
from proxiservices.services.seeding import seed_all
from tests.plugins.accounts import csrf_in
from tests.queries import count_queries
from tests.web.html import main_content, text_of

ROOT = Path(__file__).resolve().parents[2]
HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def admin(workspace):
    from tests.plugins.accounts import logged_in, make_user

    user = make_user(workspace, "admin")
    return logged_in(workspace, user.email)


def page_text(response) -> str:
    return text_of(main_content(response.get_data(as_text=True)))


def answers_of(app, slug: str) -> list[tuple[str, str | None, str | None]]:
    """(label, next question slug, need slug) of a question's answers, in order."""
    with app.app_context():
        question = db.session.scalars(select(Question).where(Question.slug == slug)).one()
        rows = [
            (
                a.label,
                a.next_question.slug if a.next_question else None,
                a.need.slug if a.need else None,
            )
            for a in question.answers
        ]
        db.session.remove()
    return rows


def ids(app) -> tuple[dict[str, int], dict[str, int]]:
    with app.app_context():
        questions = dict(db.session.execute(select(Question.slug, Question.id)).all())
        needs = dict(db.session.execute(select(Need.slug, Need.id)).all())
        db.session.remove()
    return questions, needs


def question_form(app, client, slug: str, rows, text=None) -> dict[str, str]:
    """The question form as an administrator would send it: `rows` are
    (label, next question slug, need slug, position, remove)."""
    questions, needs = ids(app)
    page = client.get(f"/admin/arbre/questions/{slug}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_in(page.get_data(as_text=True)), "text": text or "Quel acte ?"}
    for i, (label, question, need, position, remove) in enumerate(rows):
        data[f"answers-{i}-label"] = label
        data[f"answers-{i}-next_question"] = str(questions[question]) if question else ""
        data[f"answers-{i}-need"] = str(needs[need]) if need else ""
        data[f"answers-{i}-position"] = str(position)
        if remove:
            data[f"answers-{i}-remove"] = "y"
    return data


def audit_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(AuditEntry.id)))
        db.session.remove()
    return count


# --- the overview ------------------------------------------------------------------------


def test_the_overview_shows_the_tree_nested_with_links_to_edit(workspace, admin):
    response = admin.get("/admin/arbre")
    assert response.status_code == 200
    text = page_text(response)
    assert "Papiers – Citoyenneté" in text
    assert "Carte d'identité ou passeport → Quelle est la situation ?" in text
    html = response.get_data(as_text=True)
    assert 'href="/admin/arbre/questions/identite"' in html
    assert 'href="/admin/arbre/besoins/cni-passeport-vol"' in html
    assert 'href="/admin/arbre/themes/papiers-citoyennete"' in html


def test_the_overview_finds_catalogue_fiches_to_edit_their_vocabulary(workspace, admin):
    response = admin.get("/admin/arbre?q=carte+grise")
    assert response.status_code == 200
    assert "Besoins trouvés pour « carte grise »" in page_text(response)
    assert "/admin/arbre/besoins/" in main_content(response.get_data(as_text=True))


def test_the_overview_runs_the_same_queries_however_big_the_tree(workspace, admin):
    before = count_queries(workspace, admin, "/admin/arbre")
    with workspace.app_context():
        answer = db.session.scalars(
            select(Answer).join(Answer.question).where(Question.slug == "identite")
        ).first()
        answer_id = answer.id
        db.session.remove()
    page = admin.get(f"/admin/arbre/reponses/{answer_id}/question")
    response = admin.post(
        f"/admin/arbre/reponses/{answer_id}/question",
        data={
            "csrf_token": csrf_in(page.get_data(as_text=True)),
            "text": "La demande est-elle urgente ?",
            "first_label": "Non",
        },
    )
    assert response.status_code == 303
    assert count_queries(workspace, admin, "/admin/arbre") == before
    assert before <= 10


# --- questions and answers ---------------------------------------------------------------


def test_inserting_a_question_keeps_where_the_answer_led(workspace, admin):
    first = answers_of(workspace, "lieu-mariage")[0]
    assert first == ("En France", None, "acte-mariage")
    with workspace.app_context():
        answer_id = db.session.scalars(
            select(Answer.id)
            .join(Answer.question)
            .where(Question.slug == "lieu-mariage", Answer.position == 0)
        ).one()
        db.session.remove()
    page = admin.get(f"/admin/arbre/reponses/{answer_id}/question")
    assert "au besoin « " in page_text(page)
    response = admin.post(
        f"/admin/arbre/reponses/{answer_id}/question",
        data={
            "csrf_token": csrf_in(page.get_data(as_text=True)),
            "text": "Le mariage a-t-il été célébré dans les Vosges ?",
            "first_label": "Oui",
            "slug": "mariage-vosges",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/arbre/questions/mariage-vosges"
    assert answers_of(workspace, "lieu-mariage")[0] == ("En France", "mariage-vosges", None)
    assert answers_of(workspace, "mariage-vosges") == [("Oui", None, "acte-mariage")]
    walk_in = workspace.test_client().get("/questions/mariage-vosges")
    assert walk_in.status_code == 200
    assert "Le mariage a-t-il été célébré dans les Vosges ?" in page_text(walk_in)


def test_editing_answers_renames_reorders_adds_and_audits(workspace, admin):
    assert answers_of(workspace, "lieu-naissance") == [
        ("En France", None, "acte-naissance"),
        ("À l'étranger (y compris l'Algérie avant 1962)", None, "acte-etranger-scec"),
    ]
    data = question_form(
        workspace,
        admin,
        "lieu-naissance",
        [
            ("Née ou né en France", None, "acte-naissance", 2, False),
            ("À l'étranger (y compris l'Algérie avant 1962)", None, "acte-etranger-scec", 1, False),
            ("Je ne sais pas", None, "demarche-accompagnee", 3, False),
            ("", None, None, "", False),  # an empty row is left out
        ],
        text="Où la personne est-elle née ?",
    )
    response = admin.post("/admin/arbre/questions/lieu-naissance", data=data)
    assert response.status_code == 303, page_text(response)[:500]
    assert answers_of(workspace, "lieu-naissance") == [
        ("À l'étranger (y compris l'Algérie avant 1962)", None, "acte-etranger-scec"),
        ("Née ou né en France", None, "acte-naissance"),
        ("Je ne sais pas", None, "demarche-accompagnee"),
    ]
    with workspace.app_context():
        question = db.session.scalars(
            select(Question).where(Question.slug == "lieu-naissance")
        ).one()
        assert question.edited_at is not None
        entry = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "question", AuditEntry.object_id == str(question.id)
            )
        ).one()
        before, after = entry.changes["answers"]
        db.session.remove()
    assert before == [
        "En France → besoin acte-naissance",
        "À l'étranger (y compris l'Algérie avant 1962) → besoin acte-etranger-scec",
    ]
    assert after[1] == "Née ou né en France → besoin acte-naissance"
    assert "text" not in entry.changes  # unchanged fields are not written
    page = admin.get("/admin/arbre/questions/lieu-naissance")
    text = page_text(page)
    assert "Historique des modifications" in text
    assert "En France → besoin acte-naissance" in text
    assert "Née ou né en France → besoin acte-naissance" in text
    # The walk-in page follows at once.
    walk_in = page_text(workspace.test_client().get("/questions/lieu-naissance"))
    assert walk_in.index("À l'étranger") < walk_in.index("Née ou né en France")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            ("Oui", "lieu-deces", "acte-deces", 1, False),
            "Une réponse mène soit à une question, soit à un besoin, pas aux deux.",
        ),
        (
            ("Oui", None, None, 1, False),
            "Choisissez où mène la réponse : une question suivante ou un besoin.",
        ),
        (("", None, "acte-deces", 1, False), "Indiquez le libellé de la réponse."),
    ],
    ids=["both-targets", "no-target", "no-label"],
)
def test_an_answer_must_lead_to_exactly_one_thing(workspace, admin, row, message):
    before, audits = answers_of(workspace, "etat-civil"), audit_count(workspace)
    rows = [(label, q, n, i, False) for i, (label, q, n) in enumerate(before, start=1)]
    data = question_form(workspace, admin, "etat-civil", [*rows, row])
    response = admin.post("/admin/arbre/questions/etat-civil", data=data)
    assert response.status_code == 422
    html = main_content(response.get_data(as_text=True))
    assert message in text_of(html)
    assert 'aria-invalid="true"' in html
    assert 'value="Quel acte ?"' in html  # what was typed is kept
    assert answers_of(workspace, "etat-civil") == before
    assert audit_count(workspace) == audits


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("loop", "Boucle dans l'arbre"),
        ("orphan", "ne serait plus atteinte depuis aucun thème"),
        ("shared", "une question ne peut suivre qu'une seule réponse"),
        ("none", "Une question garde au moins une réponse."),
    ],
)
def test_a_change_that_would_break_the_tree_is_refused(workspace, admin, change, message):
    before = answers_of(workspace, "etat-civil")
    rows = [(label, q, n, i, False) for i, (label, q, n) in enumerate(before, start=1)]
    slug = "etat-civil"
    if change == "loop":  # a question below leads back up to its ancestor
        slug = "lieu-deces"
        below = answers_of(workspace, slug)
        rows = [(label, q, n, i, False) for i, (label, q, n) in enumerate(below, start=1)]
        rows[0] = (rows[0][0], "etat-civil", None, 1, False)
    elif change == "orphan":  # the answer leading to a sub-question is removed
        index = next(i for i, r in enumerate(rows) if r[1])
        rows[index] = (*rows[index][:4], True)
    elif change == "shared":  # a second answer to a question that already follows one
        rows.append(("Encore", "identite", None, len(rows) + 1, False))
    else:
        rows = [(*r[:4], True) for r in rows]
    current = answers_of(workspace, slug)
    data = question_form(workspace, admin, slug, rows, text="Question")
    response = admin.post(f"/admin/arbre/questions/{slug}", data=data)
    assert response.status_code == 422
    assert message in page_text(response)
    assert answers_of(workspace, slug) == current


def test_an_unknown_question_or_answer_is_404(workspace, admin):
    assert admin.get("/admin/arbre/questions/pas-de-question").status_code == 404
    assert admin.get("/admin/arbre/reponses/999999/question").status_code == 404
    assert admin.get("/admin/arbre/themes/pas-de-theme").status_code == 404
    assert admin.get("/admin/arbre/besoins/pas-de-besoin").status_code == 404


# --- themes -------------------------------------------------------------------------------


def test_editing_a_theme_is_audited_and_bad_input_is_refused(workspace, admin):
    url = "/admin/arbre/themes/logement"
    token = csrf_in(admin.get(url).get_data(as_text=True))
    bad = admin.post(url, data={"csrf_token": token, "title": "", "position": "deux"})
    assert bad.status_code == 422
    text = page_text(bad)
    assert "Indiquez le titre du thème." in text
    assert "Nombre entier attendu" in text
    ok = admin.post(
        url,
        data={"csrf_token": token, "title": "Logement et hébergement", "position": "4"},
    )
    assert ok.status_code == 303
    text = page_text(admin.get(url))
    assert "Thème enregistré." in text
    assert "Logement et hébergement" in text
    assert "Historique des modifications" in text and "titre" in text


# --- needs and their vocabulary ----------------------------------------------------------

NEW_NEED = {
    "title": "Signaler un nid de frelons asiatiques",
    "theme": "logement",
    "summary": "La mairie recense les nids et indique un désinsectiseur.",
    "body_kind_code": "MAIRIE",
    "place": "residence",
    "documents": "Photo du nid\n\n  Adresse exacte  ",
    "online_url": "https://www.frelonasiatique.fr/",
    "self_service": "Photographier le nid de loin\nLe signaler à la mairie",
    "help_kinds": ["FRANCE_SERVICES"],
    "keywords": "frelon asiatique\nnid de frelons\nvespa velutina",
    "situations": "frelon",
}


def test_a_new_need_is_found_by_search_with_its_keywords(workspace, admin):
    with workspace.app_context():
        assert not any(r.slug.startswith("signaler-un-nid") for r in search_needs("velutina"))
        db.session.remove()
    page = admin.get("/admin/arbre/besoins/nouveau")
    assert page.status_code == 200
    response = admin.post(
        "/admin/arbre/besoins/nouveau",
        data={**NEW_NEED, "csrf_token": csrf_in(page.get_data(as_text=True))},
    )
    assert response.status_code == 303, page_text(response)[:600]
    slug = "signaler-un-nid-de-frelons-asiatiques"
    assert response.headers["Location"] == f"/admin/arbre/besoins/{slug}"
    with workspace.app_context():
        need = db.session.scalars(select(Need).where(Need.slug == slug)).one()
        assert need.documents == ["Photo du nid", "Adresse exacte"]
        assert need.keywords == ["frelon asiatique", "nid de frelons", "vespa velutina"]
        assert need.origin == "curated" and need.edited_at is not None
        assert search_needs("vespa velutina")[0].slug == slug
        db.session.remove()
    public = workspace.test_client().get("/recherche?q=velutina")
    assert NEW_NEED["title"] in page_text(public)
    created = page_text(admin.get(f"/admin/arbre/besoins/{slug}"))
    assert "création par" in created


def test_a_keyword_added_in_the_admin_makes_the_need_findable(workspace, admin):
    slug, query = "aide-logement", "guichet des loyers impayables"
    with workspace.app_context():
        assert slug not in [r.slug for r in search_needs("impayables")]
        keywords = list(db.session.scalars(select(Need).where(Need.slug == slug)).one().keywords)
        db.session.remove()
    page = admin.get(f"/admin/arbre/besoins/{slug}?q=impayables")
    assert "« impayables » ne trouve pas ce besoin" in page_text(page)
    response = admin.post(
        f"/admin/arbre/besoins/{slug}/vocabulaire",
        data={
            "csrf_token": csrf_in(page.get_data(as_text=True)),
            "keywords": "\n".join([*keywords, query]),
            "situations": "apl\nals\nalf\nallocation logement",
        },
    )
    assert response.status_code == 303
    with workspace.app_context():
        assert search_needs("loyers impayables")[0].slug == slug
        db.session.remove()
    # The check on the need's page, as htmx asks for it (a fragment), and as a plain page.
    fragment = admin.get(
        f"/admin/arbre/besoins/{slug}?q=loyers+impayables",
        headers={**HX, "HX-Target": "search-check"},
    )
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "<main" not in body
    assert "« loyers impayables » trouve ce besoin en premier." in text_of(body)
    full = admin.get(f"/admin/arbre/besoins/{slug}?q=loyers+impayables")
    assert "« loyers impayables » trouve ce besoin en premier." in page_text(full)
    text = page_text(full)
    assert "Vocabulaire enregistré" in text
    assert query in text  # the history shows the new keyword list


def test_bad_need_input_is_refused_beside_the_fields_and_nothing_is_written(workspace, admin):
    with workspace.app_context():
        before = db.session.scalar(select(func.count(Need.id)))
        db.session.remove()
    audits = audit_count(workspace)
    page = admin.get("/admin/arbre/besoins/nouveau")
    response = admin.post(
        "/admin/arbre/besoins/nouveau",
        data={
            **NEW_NEED,
            "title": "Un besoin mal saisi",
            "body_kind_code": "GUICHET_IMAGINAIRE",
            "online_url": "ftp://exemple.fr/fichier",
            "notice_url": "javascript:alert(1)",
            "slug": "Pas Un Slug",
            "csrf_token": csrf_in(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 422
    text = page_text(response)
    assert "Type d'organisme inconnu : « GUICHET_IMAGINAIRE »." in text
    assert text.count("Adresse web invalide") >= 2
    assert "Identifiant invalide" in text
    assert 'value="Un besoin mal saisi"' in response.get_data(as_text=True)
    with workspace.app_context():
        assert db.session.scalar(select(func.count(Need.id))) == before
        db.session.remove()
    assert audit_count(workspace) == audits


def test_editing_a_need_is_audited_field_by_field(workspace, admin):
    url = "/admin/arbre/besoins/aide-logement-msa"
    page = admin.get(url)
    html = page.get_data(as_text=True)
    assert 'name="title"' in html
    with workspace.app_context():
        need = db.session.scalars(select(Need).where(Need.slug == "aide-logement-msa")).one()
        data = {
            "csrf_token": csrf_in(html),
            "title": need.title,
            "theme": need.theme.slug,
            "summary": need.summary or "",
            "body_kind_code": need.body_kind_code,
            "place": need.place,
            "documents": "\n".join(need.documents),
            "online_url": need.online_url or "",
            "online_label": need.online_label or "",
            "self_service": "\n".join(need.self_service),
            "help_kinds": list(need.help_kinds),
            "notice": need.notice or "",
            "notice_url": need.notice_url or "",
            "source_url": need.source_url or "",
        }
        if need.request_possible:
            data["request_possible"] = "y"
        db.session.remove()
    unchanged = admin.post(url, data=data)
    assert unchanged.status_code == 303
    assert "Aucun changement à enregistrer." in page_text(admin.get(url))
    response = admin.post(url, data={**data, "documents": "Numéro d'adhérent MSA"})
    assert response.status_code == 303
    with workspace.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "need").order_by(AuditEntry.id)
        ).all()
        last = entries[-1]
        db.session.remove()
    assert set(last.changes) == {"documents"}
    assert last.changes["documents"][1] == ["Numéro d'adhérent MSA"]


def test_a_catalogue_fiche_has_only_its_vocabulary_editable(workspace, admin):
    with workspace.app_context():
        slug = db.session.scalars(
            select(Need.slug).where(Need.origin == "catalogue").order_by(Need.slug)
        ).first()
        db.session.remove()
    url = f"/admin/arbre/besoins/{slug}"
    page = admin.get(url)
    assert page.status_code == 200
    html = main_content(page.get_data(as_text=True))
    assert "ne se modifie pas ici" in text_of(html)
    assert 'name="title"' not in html
    token = csrf_in(html)
    refused = admin.post(url, data={"csrf_token": token, "title": "Autre titre"})
    assert refused.status_code == 403
    saved = admin.post(
        f"{url}/vocabulaire",
        data={"csrf_token": token, "keywords": "mot des guichets vosgiens", "situations": ""},
    )
    assert saved.status_code == 303
    with workspace.app_context():
        assert search_needs("mot des guichets vosgiens")[0].slug == slug
        db.session.remove()


# --- the preview -----------------------------------------------------------------------------


def test_the_preview_shows_the_competent_body_for_the_commune(workspace, admin):
    url = "/admin/arbre/besoins/inscription-liste-electorale"
    default = admin.get(url)
    assert default.status_code == 200
    text = page_text(default)
    assert "Aperçu du résultat" in text
    assert "Pour un habitant d'Épinal" in text and "Mairie d'Épinal" in text
    fragment = admin.get(f"{url}?commune=88078", headers={**HX, "HX-Target": "need-preview"})
    assert fragment.status_code == 200
    body = text_of(fragment.get_data(as_text=True))
    assert "Pour un habitant de Bruyères" in body and "Mairie de Bruyères" in body
    assert "Mairie d'Épinal" not in body
    by_name = page_text(admin.get(f"{url}?commune=Docelles"))
    assert "Mairie de Docelles" in by_name
    unknown = page_text(admin.get(f"{url}?commune=Atlantide"))
    assert "Commune inconnue : « Atlantide »" in unknown


def test_edited_rows_are_left_alone_by_seeding(workspace, admin):
    edited = answers_of(workspace, "lieu-naissance")
    assert edited[1][0] == "Née ou né en France"
    with workspace.app_context():
        seed_all(ROOT / "seeds")
        db.session.remove()
    assert answers_of(workspace, "lieu-naissance") == edited
    with workspace.app_context():
        assert search_needs("loyers impayables")[0].slug == "aide-logement"
        db.session.remove()


# --- who may -----------------------------------------------------------------------------

PAGES = [
    "/admin/arbre",
    "/admin/arbre/themes/logement",
    "/admin/arbre/questions/identite",
    "/admin/arbre/besoins/nouveau",
    "/admin/arbre/besoins/aide-logement",
]


@pytest.mark.parametrize("role", ["receptionist", "partner", "elected"])
def test_other_roles_are_refused(workspace, client_as, role):
    client, _user = client_as(workspace, role)
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    token = csrf_in(client.get("/").get_data(as_text=True))
    audits = audit_count(workspace)
    for url in [*PAGES[1:], "/admin/arbre/besoins/aide-logement/vocabulaire"]:
        response = client.post(url, data={"csrf_token": token, "keywords": "piratage"})
        assert response.status_code == 403, url
    assert audit_count(workspace) == audits


def test_anonymous_visitors_are_sent_to_the_login_page(workspace):
    client = workspace.test_client()
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion?next=")


def test_a_post_without_its_token_changes_nothing(workspace, admin):
    audits = audit_count(workspace)
    response = admin.post(
        "/admin/arbre/besoins/aide-logement/vocabulaire", data={"keywords": "sans jeton"}
    )
    assert response.status_code == 400
    assert audit_count(workspace) == audits
