"""HTTP layer: thin blueprints that parse, call one service and render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from proxiservices.blueprints.api import bp as api
    from proxiservices.blueprints.directory import bp as directory
    from proxiservices.blueprints.orientation import bp as orientation

    app.register_blueprint(orientation)
    app.register_blueprint(directory)
    app.register_blueprint(api)
