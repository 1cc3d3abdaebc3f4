"""Who may open a page: anonymous visitors are sent to the login page, the wrong role gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from proxiservices.domain.roles import may
from proxiservices.extensions import login_manager


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
