"""Staff login and logout, forgotten password, and the "my account" page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from proxiservices.blueprints.common import now, render_page
from proxiservices.domain.roles import RECEPTIONIST, ROLE_LABELS
from proxiservices.extensions import login_manager
from proxiservices.forms.accounts import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
)
from proxiservices.models import User
from proxiservices.services.accounts import (
    AccountError,
    attachment_labels,
    change_password,
    end_sessions,
    load_user,
)
from proxiservices.services.authentication import (
    LoginFailed,
    LoginThrottled,
    authenticate,
    check_reset_token,
    reset_password,
    start_password_reset,
)

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def _user_from_session(session_id: str) -> User | None:
    return load_user(session_id)


@bp.after_request
def _private(response):
    """Account pages are per person and reset links are secrets: no cache, and no referrer
    for other sites. Not `no-referrer`: over HTTPS, Flask-WTF refuses a POST without a
    same-origin Referer, and the login, reset and password forms would all fail."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def local_path(target: str | None) -> str | None:
    """`next=` only when it is a path on this site: never another host (open redirect)."""
    if not target or len(target) > 1000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _landing(user: User) -> str:
    if user.role == RECEPTIONIST:
        return url_for("orientation.home")
    return url_for("accounts.account")


def _fresh_session(user: User) -> None:
    """A new session for the account (no fixation), keeping the commune of the visit."""
    commune = session.get("commune")
    session.clear()
    if commune:
        session["commune"] = commune
    login_user(user)
    session.permanent = True


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    next_url = local_path(request.args.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or _landing(current_user))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data, form.password.data, remote_addr=request.remote_addr, at=now()
            )
        except LoginThrottled as throttled:
            error, status = str(throttled), 429
        except LoginFailed as failed:
            error, status = str(failed), 422
        else:
            _fresh_session(user)
            return redirect(next_url or _landing(user))
    elif form.is_submitted():
        status = 422
    page = render_page(
        "accounts/login.html",
        "accounts/_login.html",
        form=form,
        error=error,
        next_url=next_url,
        title="Connexion",
    )
    if status == 429:  # the database throttle: at most one window of failures to wait
        return (
            page,
            status,
            {"Retry-After": str(60 * int(current_app.config["LOGIN_WINDOW_MINUTES"]))},
        )
    return page, status


@bp.post("/deconnexion")
def logout():
    commune = session.get("commune")
    if current_user.is_authenticated:
        end_sessions(current_user)
    logout_user()
    session.clear()
    if commune:
        session["commune"] = commune
    flash("Déconnexion effectuée. À bientôt.", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    sent, status = False, 200
    if form.validate_on_submit():
        start_password_reset(form.email.data, at=now(), base_url=current_app.config["PUBLIC_URL"])
        sent = True
    elif form.is_submitted():
        status = 422
    page = render_page(
        "accounts/forgot.html",
        "accounts/_forgot.html",
        form=form,
        sent=sent,
        hours=current_app.config["PASSWORD_RESET_HOURS"],
        title="Mot de passe oublié",
    )
    return page, status


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset(token: str):
    at = now()
    user = check_reset_token(token, at)
    if user is None:
        page = render_page(
            "accounts/reset.html", "accounts/_reset.html", user=None, title="Lien expiré"
        )
        return page, 404
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            reset_password(token, form.password.data, at=at)
        except AccountError as error:
            form.password.errors.append(str(error))
            status = 422
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(
                "Votre mot de passe a été changé. Connectez-vous avec le nouveau mot de passe.",
                "success",
            )
            return redirect(url_for("accounts.login"))
    elif form.is_submitted():
        status = 422
    page = render_page(
        "accounts/reset.html",
        "accounts/_reset.html",
        form=form,
        user=user,
        token=token,
        title="Nouveau mot de passe",
    )
    return page, status


def _account_page(form: ChangePasswordForm) -> str:
    user = current_user._get_current_object()
    return render_page(
        "accounts/account.html",
        "accounts/_account.html",
        user=user,
        role_label=ROLE_LABELS.get(user.role, user.role),
        attachment=attachment_labels([user])[user.id],
        form=form,
        title="Mon compte",
    )


@bp.get("/compte")
@login_required
def account():
    return _account_page(ChangePasswordForm())


@bp.post("/compte/mot-de-passe")
@login_required
def account_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(form), 422
    user = current_user._get_current_object()
    try:
        change_password(user, form.current_password.data, form.password.data, at=now())
    except AccountError as error:
        form.current_password.errors.append(str(error))
        return _account_page(form), 422
    # The password change ended every session, this one included: start a new one.
    _fresh_session(user)
    flash("Votre mot de passe a été changé. Vos autres sessions sont fermées.", "success")
    return redirect(url_for("accounts.account"))
