"""The nudge: one short message to each address following a statement when staff add an entry
(a response or a milestone), in the language the address was left in, with an unsubscribe link.

Sent after the request's transaction has committed (a background task), so a refused change never
mails anyone, and a slow or absent mail server never holds up the process leader's page."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker

from youthvoice import mail
from youthvoice.config import Settings
from youthvoice.i18n import translations

from . import subscriptions
from .models import Statement, Workshop

log = logging.getLogger("youthvoice.workshops.mail")


def _status_text(_, status: str | None) -> str:
    return {"received": _("Received"), "considering": _("Being considered"), "done": _("Done"),
            "not_possible": _("Not possible")}.get(status or "", _("Not answered yet"))


def compose(ws: Workshop, st: Statement, address: str, lang: str, token: str, base: str) -> mail.Mail:
    _ = translations(lang).gettext
    page = f"{base}/w/{ws.code}?lang={lang}#s-{st.id}"
    unsubscribe = f"{base}/w/{ws.code}/unsubscribe/{token}?lang={lang}"
    quote = st.text if len(st.text) <= 300 else st.text[:297] + "…"
    body = "\n\n".join([
        _("There is news about what you said in the workshop \"%(title)s\":") % {"title": ws.title},
        f"“{quote}”",
        _("Status now: %(status)s") % {"status": _status_text(_, st.response_status)},
        _("Read the answer and reply here: %(url)s") % {"url": page},
        _("You get this because you left your e-mail address on the feedback page. "
          "To get no more messages: %(url)s") % {"url": unsubscribe},
    ]) + "\n"
    return mail.Mail(to=address, subject=_("News about your statement: %(title)s") % {"title": ws.title},
                     body=body, unsubscribe_url=unsubscribe, lang=lang)


async def send_nudges(sessionmaker: async_sessionmaker, settings: Settings, sid: str, base: str) -> int:
    """Runs after the response was committed; failures are logged, never shown to the process leader."""
    if not settings.mail_enabled:
        return 0
    try:
        async with sessionmaker() as db:
            st = await db.get(Statement, sid)
            ws = await db.get(Workshop, st.workshop_id) if st else None
            if st is None or ws is None:
                return 0
            mails = [compose(ws, st, address, lang, token, base)
                     for address, lang, token in await subscriptions.subscribers(db, sid, settings.secret_key)]
        sent = await mail.send(settings, mails)  # each message on its own: one bad address stops no one else
        if sent < len(mails):
            log.warning("%d of %d nudges for a statement were not sent", len(mails) - sent, len(mails))
        return sent
    except Exception as e:  # noqa: BLE001 — the mail server being away must not break anything else
        # Only the kind of failure: smtplib's messages can carry the addresses.
        log.warning("could not send the nudges for a statement: %s", type(e).__name__)
        return 0
