"""Who may open a page: anonymous visitors are sent to the login page, the wrong role gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from proxiservices.domain.roles import may
from proxiservices.extensions import login_manager


@login_manager.unauthorized_handler
def send_to_login():
    """Anonymous visitors go to the login page, which brings them back to the page they
    asked for; a form posted anonymously has no page to come back to (a GET would be 405)."""
    flash(login_manager.login_message, login_manager.login_message_category)
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=back))


def permission_required(permission: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not may(current_user.role, permission):
                abort(403, "Votre rôle ne donne pas accès à cette page.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
