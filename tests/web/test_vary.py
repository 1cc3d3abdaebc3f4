"""Every answer varies on HX-Request (a fragment and a full page share one address), on top
of what the view or the session already vary on."""

from tests.conftest import make_app


def test_vary_names_hx_request_besides_what_the_view_and_the_session_name():
    app = make_app("sqlite://")

    @app.get("/_vary/plain")
    def plain():
        return "ok"

    @app.get("/_vary/view")
    def view():
        return "ok", 200, {"Vary": "Accept-Language"}

    @app.get("/_vary/session")
    def with_session():
        from flask import session

        session["commune"] = "88160"
        return "ok"

    client = app.test_client()
    assert client.get("/_vary/plain").headers["Vary"].split(", ")[0] == "HX-Request"
    assert client.get("/_vary/view").headers["Vary"].startswith("Accept-Language, HX-Request")
    assert client.get("/_vary/session").headers["Vary"] == "HX-Request, Cookie"
