"""Staff accounts: the attachment each role needs, login throttling without revealing who
has an account, sessions that end, single-use reset links, the CLI and the demo seed."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import LoginFailure, OutboxMessage, PasswordResetToken, Referent, User
from proxiservices.services import accounts, authentication
from proxiservices.services.accounts import (
    AccountError,
    create_user,
    disable_user,
    load_user,
    set_password,
)
from proxiservices.services.authentication import (
    LoginFailed,
    LoginThrottled,
    authenticate,
    check_reset_token,
    reset_password,
    start_password_reset,
)
from proxiservices.services.demo import seed_demo
from tests.plugins.accounts import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)
BASE_URL = "https://proxiservices.example.org"


@pytest.fixture
def app(workspace):
    with workspace.app_context():
        yield workspace
        db.session.rollback()


def unique(prefix: str = "agent") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


@pytest.mark.parametrize(
    ("role", "attachment", "expected"),
    [
        ("receptionist", {"commune_insee": "88078"}, ("site", "mairie-88078")),
        (
            "receptionist",
            {"site_ref": "france-services-bruyeres"},
            ("site", "france-services-bruyeres"),
        ),
        (
            "receptionist",
            {"site_ref": "mairie-88078", "commune_insee": "88078"},
            ("site", "mairie-88078"),
        ),
        ("partner", {"body_slug": "caf-vosges"}, ("body", "caf-vosges")),
        (
            "partner",
            {"body_slug": "conseiller-numerique-bruyeres"},
            ("body", "conseiller-numerique-bruyeres"),
        ),
        ("elected", {"territory_code": "200042000"}, ("territory", "200042000")),
        ("elected", {"territory_code": "88"}, ("territory", "88")),
        ("elected", {"territory_code": "88078"}, ("territory", "88078")),
        ("elected", {"commune_insee": "88078"}, ("territory", "88078")),
        ("admin", {}, ("nothing", None)),
    ],
)
def test_each_role_is_attached_as_it_needs(app, role, attachment, expected):
    user = make_user(app, role, **attachment)
    kind, value = expected
    attached = {
        "site": user.site.slug if user.site else None,
        "body": user.body.slug if user.body else None,
        "territory": user.territory_code,
        "nothing": None,
    }
    assert attached[kind] == value
    assert [k for k, v in attached.items() if v is not None] == ([kind] if value else [])
    assert user.active and user.created_at is not None


def test_a_receptionist_can_be_attached_by_site_id(app):
    site_id = make_user(app, "receptionist", commune_insee="88078").site_id
    user = make_user(app, "receptionist", site_ref=str(site_id))
    assert user.site.slug == "mairie-88078"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": "receptionist"}, "rattaché à un lieu d'accueil"),
        ({"role": "receptionist", "commune_insee": "99999"}, "Commune inconnue"),
        ({"role": "receptionist", "site_ref": "nulle-part"}, "Lieu d'accueil inconnu"),
        (
            {"role": "receptionist", "site_ref": "mairie-88078", "commune_insee": "88135"},
            "n'est pas sur la commune",
        ),
        ({"role": "receptionist", "body_slug": "caf-vosges"}, "ne se rattache pas à un organisme"),
        ({"role": "partner"}, "rattaché à un organisme"),
        ({"role": "partner", "body_slug": "caf-des-alpes"}, "Organisme inconnu"),
        ({"role": "elected"}, "rattaché à un territoire"),
        ({"role": "elected", "territory_code": "FR"}, "Territoire inconnu"),
        ({"role": "elected", "territory_code": "12345"}, "Territoire inconnu"),
        ({"role": "admin", "body_slug": "caf-vosges"}, "ne se rattache pas"),
        ({"role": "superuser"}, "Rôle inconnu"),
        ({"role": "admin", "password": "trop-court"}, "au moins 12 caractères"),
        ({"role": "admin", "email": "pas-une-adresse"}, "Adresse e-mail invalide"),
    ],
)
def test_account_rules_are_explained_in_french(app, fields, message):
    values = {"email": unique(), "password": PASSWORD, "at": AT, **fields}
    with pytest.raises(AccountError, match=message):
        create_user(**values)
    assert db.session.scalar(select(func.count()).where(User.email == values["email"])) == 0


def test_addresses_are_normalised_and_unique(app):
    user = create_user(
        email="  Agent.Test@Mairie-Exemple.FR ", role="admin", password=PASSWORD, at=AT
    )
    assert user.email == "agent.test@mairie-exemple.fr"
    with pytest.raises(AccountError, match="existe déjà"):
        create_user(email="AGENT.TEST@mairie-exemple.fr", role="admin", password=PASSWORD, at=AT)


def test_passwords_are_hashed_with_scrypt(app):
    user = make_user(app, "admin")
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_login_succeeds_and_clears_the_failures_of_the_address(app):
    user = make_user(app, "admin")
    with pytest.raises(LoginFailed):
        authenticate(user.email, "mauvais mot de passe", remote_addr="10.1.0.1", at=AT)
    found = authenticate(user.email.upper(), PASSWORD, remote_addr="10.1.0.1", at=AT)
    assert found.id == user.id
    assert found.last_login_at == AT
    keys = db.session.scalars(select(LoginFailure.key)).all()
    assert f"email:{user.email}" not in keys


def test_unknown_address_wrong_password_and_disabled_account_fail_alike(app):
    user = make_user(app, "admin")
    disabled = make_user(app, "admin")
    disable_user(disabled.email, AT)
    messages = set()
    for email, password in [
        ("personne@example.org", PASSWORD),
        (user.email, "mauvais mot de passe"),
        (disabled.email, PASSWORD),
        ("pas une adresse", PASSWORD),
    ]:
        with pytest.raises(LoginFailed) as failed:
            authenticate(email, password, remote_addr="10.1.0.2", at=AT)
        messages.add(str(failed.value))
    assert messages == {"Adresse e-mail ou mot de passe incorrect."}


def test_too_many_failures_for_one_address_throttle_it_for_the_window(app):
    user = make_user(app, "admin")
    for minute in range(5):
        with pytest.raises(LoginFailed):
            authenticate(
                user.email,
                "faux",
                remote_addr=f"10.2.0.{minute}",
                at=AT + timedelta(minutes=minute),
            )
    # Even the right password is refused now, from any network address.
    with pytest.raises(LoginThrottled, match="Trop de tentatives"):
        authenticate(user.email, PASSWORD, remote_addr="10.2.1.1", at=AT + timedelta(minutes=5))
    # Throttled the same way for an address nobody has: no way to tell them apart.
    for minute in range(5):
        with pytest.raises(LoginFailed):
            authenticate("inconnu@example.org", "faux", remote_addr=f"10.2.2.{minute}", at=AT)
    with pytest.raises(LoginThrottled):
        authenticate("inconnu@example.org", "faux", remote_addr="10.2.3.1", at=AT)
    # Once the oldest failures leave the 15-minute window, the account is usable again.
    later = AT + timedelta(minutes=16)
    assert authenticate(user.email, PASSWORD, remote_addr="10.2.1.1", at=later).id == user.id


def test_too_many_failures_from_one_network_address_throttle_it(app):
    user = make_user(app, "admin")
    for n in range(30):
        with pytest.raises(LoginFailed):
            authenticate(f"essai-{n}@example.org", "faux", remote_addr="10.3.0.1", at=AT)
    with pytest.raises(LoginThrottled):
        authenticate(user.email, PASSWORD, remote_addr="10.3.0.1", at=AT)
    assert authenticate(user.email, PASSWORD, remote_addr="10.3.0.2", at=AT).id == user.id


def test_old_failures_are_purged(app):
    db.session.add(LoginFailure(key="email:vieux@example.org", at=AT - timedelta(days=2)))
    db.session.commit()
    with pytest.raises(LoginFailed):
        authenticate("autre@example.org", "faux", remote_addr="10.4.0.1", at=AT)
    keys = db.session.scalars(select(LoginFailure.key)).all()
    assert "email:vieux@example.org" not in keys


def test_a_session_id_is_valid_until_the_password_changes_or_the_account_is_disabled(app):
    user = make_user(app, "receptionist")
    session_id = user.get_id()
    assert load_user(session_id).id == user.id
    for bad in ["", "abc", f"{user.id}", f"{user.id}:", f"{user.id}:wrong", "x:y"]:
        assert load_user(bad) is None, bad

    set_password(user, "un autre mot de passe", AT)
    assert load_user(session_id) is None
    assert load_user(user.get_id()).id == user.id

    with pytest.raises(AccountError, match="au moins"):
        set_password(user, "court", AT)

    current = user.get_id()
    disable_user(user.email, AT)
    assert load_user(current) is None
    assert load_user(user.get_id()) is None
    with pytest.raises(AccountError, match="Aucun compte"):
        disable_user("personne@example.org", AT)


def test_change_password_needs_the_current_one(app):
    user = make_user(app, "admin")
    with pytest.raises(AccountError, match="actuel est incorrect"):
        accounts.change_password(user, "pas le bon", "nouveau mot de passe", AT)
    accounts.change_password(user, PASSWORD, "nouveau mot de passe", AT)
    assert authenticate(user.email, "nouveau mot de passe", remote_addr="10.5.0.1", at=AT)


def reset_messages(email: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "password_reset", OutboxMessage.recipients == email)
            .order_by(OutboxMessage.id)
        )
    )


def token_in(message: OutboxMessage) -> str:
    match = re.search(re.escape(BASE_URL) + r"/mot-de-passe/([A-Za-z0-9_\-]+)", message.body)
    assert match, message.body
    return match.group(1)


def test_reset_link_is_mailed_single_use_and_ends_the_sessions(app):
    user = make_user(app, "partner")
    old_session = user.get_id()
    start_password_reset(user.email.upper(), at=AT, base_url=BASE_URL + "/")
    (message,) = reset_messages(user.email)
    assert message.subject.startswith("Proxiservices")
    assert "ne sert qu'une fois" in message.body
    token = token_in(message)
    stored = db.session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.user_id == user.id)
    ).one()
    assert stored.token_hash != token and len(stored.token_hash) == 64

    assert check_reset_token(token, AT).id == user.id
    with pytest.raises(AccountError, match="au moins"):
        reset_password(token, "court", at=AT)
    reset_password(token, "mot de passe tout neuf", at=AT + timedelta(minutes=5))
    assert load_user(old_session) is None
    assert authenticate(user.email, "mot de passe tout neuf", remote_addr="10.6.0.1", at=AT)

    assert check_reset_token(token, AT) is None
    with pytest.raises(AccountError, match="plus valable"):
        reset_password(token, "encore un autre mot de passe", at=AT + timedelta(minutes=6))


def test_reset_links_expire_and_a_used_one_cancels_the_others(app):
    user = make_user(app, "partner")
    start_password_reset(user.email, at=AT, base_url=BASE_URL)
    start_password_reset(user.email, at=AT + timedelta(minutes=1), base_url=BASE_URL)
    first, second = (token_in(m) for m in reset_messages(user.email))
    assert check_reset_token(first, AT + timedelta(minutes=59)) is not None
    assert check_reset_token(first, AT + timedelta(minutes=61)) is None
    with pytest.raises(AccountError):
        reset_password(first, "mot de passe tout neuf", at=AT + timedelta(minutes=61))
    reset_password(second, "mot de passe tout neuf", at=AT + timedelta(minutes=2))
    assert check_reset_token(first, AT + timedelta(minutes=3)) is None


def test_reset_requests_say_nothing_about_who_has_an_account(app):
    disabled = make_user(app, "admin")
    disable_user(disabled.email, AT)
    before = db.session.scalar(select(func.count(OutboxMessage.id)))
    assert start_password_reset("personne@example.org", at=AT, base_url=BASE_URL) is None
    assert start_password_reset(disabled.email, at=AT, base_url=BASE_URL) is None
    assert start_password_reset("pas une adresse", at=AT, base_url=BASE_URL) is None
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == before


def test_reset_requests_cannot_flood_a_mailbox(app):
    user = make_user(app, "admin")
    for minute in range(6):
        start_password_reset(user.email, at=AT + timedelta(minutes=minute), base_url=BASE_URL)
    assert len(reset_messages(user.email)) == authentication.MAX_OUTSTANDING_RESETS


def test_users_are_listed_with_their_attachment(app):
    partner = make_user(app, "partner", body_slug="cpam-vosges")
    elected = make_user(app, "elected", territory_code="200042000")
    users = accounts.list_users()
    labels = accounts.attachment_labels(users)
    by_email = {u.email: u for u in users}
    assert labels[by_email[partner.email].id] == "CPAM des Vosges"
    assert labels[by_email[elected.email].id] == "CC Bruyères-Vallons des Vosges"


# ---------------------------------------------------------------- flask users ...


def test_users_create_list_and_disable_from_the_command_line(app):
    runner = app.test_cli_runner()
    email = unique("cli")
    created = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            email,
            "--role",
            "receptionist",
            "--commune",
            "88078",
            "--name",
            "Agent CLI",
            "--password",
            PASSWORD,
        ]
    )
    assert created.exit_code == 0, created.output
    assert f"Compte créé : {email} (agent d'accueil, Mairie de Bruyères)" in created.output

    listed = runner.invoke(args=["users", "list"])
    assert listed.exit_code == 0
    assert "Courriel" in listed.output and "Rattachement" in listed.output
    (line,) = [row for row in listed.output.splitlines() if row.startswith(email)]
    assert "agent d'accueil" in line and "Mairie de Bruyères" in line and line.endswith("oui")

    disabled = runner.invoke(args=["users", "disable", "--email", email])
    assert disabled.exit_code == 0
    assert "Compte désactivé" in disabled.output
    listed = runner.invoke(args=["users", "list"])
    (line,) = [row for row in listed.output.splitlines() if row.startswith(email)]
    assert line.endswith("non")


def test_users_create_prompts_for_the_password_twice(app):
    runner = app.test_cli_runner()
    email = unique("prompt")
    args = ["users", "create", "--email", email, "--role", "partner", "--body", "caf-vosges"]
    mismatch = runner.invoke(args=args, input=f"{PASSWORD}\nautre chose\n")
    assert mismatch.exit_code == 1
    assert "pas identiques" in mismatch.output
    created = runner.invoke(args=args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    assert PASSWORD not in created.output
    assert authenticate(email, PASSWORD, remote_addr="10.7.0.1", at=AT).body.slug == "caf-vosges"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "create", "--role", "admin", "--password", PASSWORD], "--email est obligatoire"),
        (
            ["users", "create", "--email", "x@example.org", "--password", PASSWORD],
            "--role est obligatoire",
        ),
        (
            [
                "users",
                "create",
                "--email",
                "x@example.org",
                "--role",
                "chef",
                "--password",
                PASSWORD,
            ],
            "Rôle inconnu",
        ),
        (
            [
                "users",
                "create",
                "--email",
                "x@example.org",
                "--role",
                "partner",
                "--password",
                PASSWORD,
            ],
            "organisme",
        ),
        (
            [
                "users",
                "create",
                "--email",
                "x@example.org",
                "--role",
                "receptionist",
                "--commune",
                "00000",
                "--password",
                PASSWORD,
            ],
            "Commune inconnue",
        ),
        (["users", "disable", "--email", "personne@example.org"], "Aucun compte"),
        (["users", "disable"], "--email est obligatoire"),
    ],
)
def test_users_commands_fail_with_a_clear_message(app, args, message):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    assert "Erreur :" in result.output and message in result.output


# ---------------------------------------------------------------- demo seed


def test_plain_seed_never_loads_the_demo_and_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["seed"])
    assert plain.exit_code == 0, plain.output
    assert db.session.scalar(select(func.count()).where(User.email.like("demo.%"))) == 0
    assert db.session.scalar(select(func.count(Referent.id))) == 0

    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert "comptes de démonstration créés: 9" in first.output
    assert "FICTIFS" in first.output
    demo_users = {
        u.email: u for u in db.session.scalars(select(User).where(User.email.like("demo.%")))
    }
    assert demo_users["demo.accueil.mairie-bruyeres@example.org"].site.slug == "mairie-88078"
    assert demo_users["demo.elu.cc-bruyeres@example.org"].territory_code == "200042000"
    assert {u.role for u in demo_users.values()} == {"receptionist", "partner", "elected", "admin"}
    assert (
        authenticate(
            "demo.partenaire.caf@example.org", "demo-proxiservices", remote_addr="10.8.0.1", at=AT
        ).body.slug
        == "caf-vosges"
    )
    referents = db.session.scalars(select(Referent)).all()
    assert {r.body.slug for r in referents} >= {
        "caf-vosges",
        "cpam-vosges",
        "france-services",
        "conseiller-numerique-bruyeres",
    }
    assert all(r.email.endswith("@example.org") for r in referents if r.email)
    assert any(r.notify for r in referents)

    hashes = {u.email: u.password_hash for u in demo_users.values()}
    again = seed_demo(ROOT / "seeds" / "demo", AT)
    assert str(again) == ""
    db.session.expire_all()
    assert {
        u.email: u.password_hash
        for u in db.session.scalars(select(User).where(User.email.like("demo.%")))
    } == hashes
    assert db.session.scalar(select(func.count(Referent.id))) == len(referents)
