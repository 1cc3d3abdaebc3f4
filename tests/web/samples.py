"""What the CSRF sample modules and page tests share: reading the database outside a request."""

from __future__ import annotations

from proxiservices.extensions import db


def read(app, fn):
    """`fn()` inside an app context whose session is removed afterwards, so that what it
    returns was read now and nothing it loaded lingers for the next request."""
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()
