"""Outgoing mail (optional), and the sealing of the addresses it goes to.

Mail goes through the SMTP server in `YOUTHVOICE_SMTP_URL`:
`smtp://[user:password@]host[:port]` upgrades with STARTTLS whenever the server offers it,
`smtps://host[:465]` speaks TLS from the first byte. Without a URL and `YOUTHVOICE_MAIL_FROM`,
nothing is sent and the pages do not offer mail at all.

Addresses are kept encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from the secret key, so a copy of the database or a backup alone does not give them away.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from cryptography.fernet import Fernet, InvalidToken

from .config import Settings

log = logging.getLogger("youthvoice.mail")


def _key(secret: str, purpose: str) -> bytes:
    # A purpose string separates this key from every other use of the secret key.
    return hmac.new(secret.encode(), f"youthvoice:{purpose}".encode(), hashlib.sha256).digest()


def address_box(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key(secret, "mail-address-at-rest")))


def seal(secret: str, address: str) -> str:
    return address_box(secret).encrypt(address.encode()).decode("ascii")


def unseal(secret: str, sealed: str) -> str | None:
    try:
        return address_box(secret).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None  # sealed under another secret key: the address cannot be used


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    unsubscribe_url: str | None = None
    lang: str = "sv"


def _message(settings: Settings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        # RFC 8058: mail programs show their own "unsubscribe" button and post to this address.
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(mail.body)
    msg["Content-Language"] = mail.lang  # after set_content, which replaces every Content-* header
    return msg


# Each message is tried on its own: a refused recipient (a typo, a mailbox that is gone) must not stop
# the others'. A temporary refusal (4xx, a dropped connection) is tried again, on a new connection,
# after RETRY_PAUSE, then twice that; a permanent one (5xx) is not.
ATTEMPTS = 3
RETRY_PAUSE = 2.0


def _connect(settings: Settings) -> smtplib.SMTP:
    url = urlsplit(settings.smtp_url)
    host = url.hostname or "localhost"
    context = ssl.create_default_context()
    if url.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=30, context=context)
    elif url.scheme == "smtp":
        smtp = smtplib.SMTP(host, url.port or 587, timeout=30)
    else:
        raise ValueError("YOUTHVOICE_SMTP_URL must start with smtp:// or smtps://")
    try:
        smtp.ehlo()
        if url.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def _refusal_code(e: Exception) -> int | None:
    """The SMTP reply code of a refusal, or None when the connection itself failed."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in e.recipients.values()]
        return max(codes) if codes else None
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code
    return None


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _send_sync(settings: Settings, mails: list[Mail]) -> int:
    sent = 0
    smtp: smtplib.SMTP | None = None
    try:
        for i, mail in enumerate(mails):
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    if smtp is None:
                        smtp = _connect(settings)
                    smtp.send_message(_message(settings, mail))
                    sent += 1
                    break
                except (smtplib.SMTPException, OSError) as e:
                    code = _refusal_code(e)
                    # Only the kind and code: smtplib's messages can carry the address.
                    log.warning("message %d of %d not sent (attempt %d): %s %s", i + 1, len(mails), attempt,
                                type(e).__name__, code or "")
                    if code is not None and code >= 500:
                        break  # permanent: this recipient will not take it, the others may
                    if code is None:  # the connection broke or never came: start a new one
                        _close(smtp)
                        smtp = None
                    if attempt < ATTEMPTS:
                        time.sleep(RETRY_PAUSE * 2 ** (attempt - 1))
            else:
                if smtp is None:
                    # The server could not be reached at all: every other message would wait as long.
                    log.warning("mail server unreachable; %d messages not sent", len(mails) - i)
                    break
    finally:
        _close(smtp)
    return sent


async def send(settings: Settings, mails: list[Mail]) -> int:
    """Sends the messages (in a worker thread), each on its own, sharing a connection while it lasts;
    returns how many the server accepted. A recipient the server refuses does not stop the others."""
    if not mails or not settings.mail_enabled:
        return 0
    return await asyncio.to_thread(_send_sync, settings, mails)
