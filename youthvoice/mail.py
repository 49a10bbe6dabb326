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
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from cryptography.fernet import Fernet, InvalidToken

from .config import Settings


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


def _send_sync(settings: Settings, mails: list[Mail]) -> int:
    url = urlsplit(settings.smtp_url)
    host = url.hostname or "localhost"
    context = ssl.create_default_context()
    if url.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=30, context=context)
    elif url.scheme == "smtp":
        smtp = smtplib.SMTP(host, url.port or 587, timeout=30)
    else:
        raise ValueError("YOUTHVOICE_SMTP_URL must start with smtp:// or smtps://")
    sent = 0
    with smtp:
        smtp.ehlo()
        if url.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        for mail in mails:
            smtp.send_message(_message(settings, mail))
            sent += 1
    return sent


async def send(settings: Settings, mails: list[Mail]) -> int:
    """Sends the messages over one connection (in a worker thread); returns how many went."""
    if not mails or not settings.mail_enabled:
        return 0
    return await asyncio.to_thread(_send_sync, settings, mails)
