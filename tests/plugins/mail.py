"""Fixtures: a real SMTP server on 127.0.0.1 (aiosmtpd) that records what it receives and
can be stopped or told to refuse, so delivery is tested against the wire, not a mock."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
TEMPORARY_FAILURE = "451 4.3.0 Try again later"


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it: envelope and parsed content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # Flask-Mailman folds long encoded subjects right after "Subject:"; clients trim it.
        return str(self.message["Subject"]).strip()

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()


class _Recorder:
    """aiosmtpd handler: keeps every accepted message, or refuses at RCPT or DATA."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.refusal: tuple[str, str] | None = None  # (stage, reply)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.refusal
        if refusal and refusal[0] == "RCPT":
            return refusal[1]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refusal = self.refusal
        if refusal and refusal[0] == "DATA":
            return refusal[1]
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A port nobody listens on; aiosmtpd's controller cannot be given port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class SmtpServer:
    """Controls for the test SMTP server. `stop()` leaves the port closed (connection
    refused), `start()` listens again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        # Its own, so that a test calling monkeypatch.undo() keeps the mail settings.
        self._monkeypatch = pytest.MonkeyPatch()
        self._recorder = _Recorder()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def messages(self) -> list[Received]:
        with self._recorder.lock:
            return list(self._recorder.received)

    def subjects(self) -> list[str]:
        return [m.subject for m in self.messages]

    def message_ids(self) -> list[str]:
        return [m.message_id for m in self.messages]

    def start(self) -> None:
        if self._controller is None:
            # A stopped controller has closed its event loop: each start needs a new one.
            controller = Controller(
                self._recorder, hostname=HOST, port=self.port, server_hostname="smtp.test"
            )
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, refusing: bool = True, *, stage: str = "DATA", reply: str = "") -> None:
        """Answer RCPT or DATA with `reply` (a temporary failure by default) until told not to."""
        if stage not in {"RCPT", "DATA"}:
            raise ValueError(stage)
        self._recorder.refusal = (stage, reply or TEMPORARY_FAILURE) if refusing else None

    def clear(self) -> None:
        with self._recorder.lock:
            self._recorder.received.clear()

    def serve(self, app) -> None:
        """Point `app` at this server for the current test only (the config is restored
        afterwards, so session- and module-scoped apps can be used)."""
        for key, value in {
            "MAIL_BACKEND": "smtp",  # TESTING apps default to Flask-Mailman's locmem
            "MAIL_SERVER": HOST,
            "MAIL_PORT": self.port,
            "MAIL_TIMEOUT": 5,
        }.items():
            self._monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def smtp_server():
    """A running SMTP server on 127.0.0.1, stopped after the test; the apps it served get
    their mail settings back."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
    server._monkeypatch.undo()


@pytest.fixture
def mail_app(blank, smtp_server):
    """The empty-schema app (`blank`, app context pushed) sending to `smtp_server`."""
    smtp_server.serve(blank)
    return blank
