"""WSGI entry point: `gunicorn wsgi:app`."""

from proxiservices import create_app

app = create_app()
