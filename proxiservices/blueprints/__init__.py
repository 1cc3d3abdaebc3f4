"""HTTP layer: thin blueprints that parse, call one service and render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from proxiservices.blueprints.accessibility import bp as accessibility
    from proxiservices.blueprints.accounts import bp as accounts
    from proxiservices.blueprints.admin import bp as admin
    from proxiservices.blueprints.api import bp as api
    from proxiservices.blueprints.catalogue import bp as catalogue
    from proxiservices.blueprints.dashboard import bp as dashboard
    from proxiservices.blueprints.directory import bp as directory
    from proxiservices.blueprints.inbox import bp as inbox
    from proxiservices.blueprints.local_info import bp as local_info
    from proxiservices.blueprints.manage import bp as manage
    from proxiservices.blueprints.map import bp as map_
    from proxiservices.blueprints.open_data import bp as open_data
    from proxiservices.blueprints.orientation import bp as orientation
    from proxiservices.blueprints.privacy import bp as privacy
    from proxiservices.blueprints.requests import bp as requests
    from proxiservices.blueprints.screen import bp as screen
    from proxiservices.blueprints.search import bp as search
    from proxiservices.blueprints.staff import bp as staff
    from proxiservices.blueprints.tree_admin import bp as tree_admin
    from proxiservices.blueprints.upkeep import bp as upkeep

    app.register_blueprint(orientation)
    app.register_blueprint(directory)
    app.register_blueprint(api)
    app.register_blueprint(accounts)
    app.register_blueprint(staff)
    app.register_blueprint(requests)
    app.register_blueprint(inbox)
    app.register_blueprint(search)
    app.register_blueprint(admin)
    app.register_blueprint(dashboard)
    app.register_blueprint(catalogue)
    app.register_blueprint(manage)
    app.register_blueprint(tree_admin)
    app.register_blueprint(local_info)
    app.register_blueprint(upkeep)
    app.register_blueprint(open_data)
    app.register_blueprint(map_)
    app.register_blueprint(privacy)
    app.register_blueprint(screen)
    app.register_blueprint(accessibility)
