"""Settings from the environment, each with a working default (CONTRACT)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def _var_dir() -> Path:
    return Path(os.environ.get("YOUTHVOICE_VAR_DIR", "var")).resolve()


def _secret_key(var_dir: Path) -> str:
    key = os.environ.get("YOUTHVOICE_SECRET_KEY")
    if key:
        return key
    path = var_dir / "secret_key"
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a key others can read lets them forge sessions and form tokens
        return path.read_text().strip()
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written with 0600 so other local users cannot forge sessions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _list(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.replace(";", ",").split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    min_cell: int = 5
    var_dir: Path = field(default_factory=_var_dir)
    # Cookies get Secure when the request came over https; this forces it.
    secure_cookies: bool = False
    contact_email: str = "kontakt@example.se"
    dpo_email: str = "dataskyddsombud@example.se"
    controller_name: str = "Kommunen"
    # Wrong passwords for one e-mail from one address before the wait starts growing.
    login_rate: int = 10
    # Answers per address and survey a minute (a class on one school network sends them together).
    submit_rate: int = 60
    # One-time code checks per client address in ten minutes (a survey gets ten times this).
    code_check_rate: int = 50
    base_url: str = ""
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed. Default none:
    # the connecting address is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Host names the service answers to (besides YOUTHVOICE_BASE_URL's). With neither set only the
    # loopback names: a request for any other host is refused, so no link can carry a forged host.
    allowed_hosts: tuple[str, ...] = ()
    # Wrong codes (workshop or survey) from one address in ten minutes before it gets 429.
    code_miss_limit: int = 20
    # Seats of one room taken from one address in 20 seconds: all ten, so ten phones on one network
    # (venue Wi-Fi behind NAT) pressing "Join" together all get in (presses that take no seat are not
    # counted here).
    join_burst: int = 10
    # Live-update streams open at once, per room and per address (in each worker).
    streams_per_room: int = 40
    streams_per_address: int = 30
    # Seconds a client may take to send its request headers, and to stay idle between requests.
    header_timeout: float = 10.0
    idle_timeout: float = 5.0
    # Feedback nudges by e-mail (optional): smtp://[user:pass@]host[:587] (STARTTLS when the server
    # offers it), smtps://host:465 (TLS from the start). Empty: the option is not offered.
    smtp_url: str = ""
    mail_from: str = ""
    # Where a young person can complain about an answer (the municipality's route: a web address or
    # an e-mail address); empty: the contact address above is shown.
    complaint_route: str = ""
    # How long after a final answer (done / not possible) the young people can still reply; then the
    # e-mail addresses left for that statement are deleted.
    reply_days: int = 30
    # Seconds before a storage cleanup that could not run (a busy reader kept the WAL checkpoint or
    # VACUUM FULL from running after a close or release) is tried again; doubled after each failed
    # try, up to cleanup_retry_max.
    cleanup_retry: float = 30.0
    cleanup_retry_max: float = 600.0

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        var_dir = _var_dir()
        default_db = f"sqlite+aiosqlite:///{var_dir / 'youthvoice.db'}"
        values: dict[str, object] = dict(
            database_url=os.environ.get("YOUTHVOICE_DATABASE_URL", default_db),
            secret_key=None,
            min_cell=int(os.environ.get("YOUTHVOICE_MIN_CELL", "5")),
            var_dir=var_dir,
            secure_cookies=os.environ.get("YOUTHVOICE_SECURE_COOKIES", "") in ("1", "true", "yes"),
            contact_email=os.environ.get("YOUTHVOICE_CONTACT_EMAIL", "kontakt@example.se"),
            dpo_email=os.environ.get("YOUTHVOICE_DPO_EMAIL", "dataskyddsombud@example.se"),
            controller_name=os.environ.get("YOUTHVOICE_CONTROLLER", "Kommunen"),
            login_rate=int(os.environ.get("YOUTHVOICE_LOGIN_RATE", "10")),
            submit_rate=int(os.environ.get("YOUTHVOICE_SUBMIT_RATE", "60")),
            code_check_rate=int(os.environ.get("YOUTHVOICE_CODE_CHECK_RATE", "50")),
            base_url=os.environ.get("YOUTHVOICE_BASE_URL", "").rstrip("/"),
            trusted_proxies=_list(os.environ.get("YOUTHVOICE_TRUSTED_PROXIES", "")),
            allowed_hosts=_list(os.environ.get("YOUTHVOICE_ALLOWED_HOSTS", "")),
            code_miss_limit=int(os.environ.get("YOUTHVOICE_CODE_MISS_LIMIT", "20")),
            join_burst=int(os.environ.get("YOUTHVOICE_JOIN_BURST", "10")),
            streams_per_room=int(os.environ.get("YOUTHVOICE_STREAMS_PER_ROOM", "40")),
            streams_per_address=int(os.environ.get("YOUTHVOICE_STREAMS_PER_ADDRESS", "30")),
            header_timeout=float(os.environ.get("YOUTHVOICE_HEADER_TIMEOUT", "10")),
            idle_timeout=float(os.environ.get("YOUTHVOICE_IDLE_TIMEOUT", "5")),
            smtp_url=os.environ.get("YOUTHVOICE_SMTP_URL", "").strip(),
            mail_from=os.environ.get("YOUTHVOICE_MAIL_FROM", "").strip(),
            complaint_route=os.environ.get("YOUTHVOICE_COMPLAINT_ROUTE", "").strip(),
            reply_days=int(os.environ.get("YOUTHVOICE_REPLY_DAYS", "30")),
            cleanup_retry=float(os.environ.get("YOUTHVOICE_CLEANUP_RETRY", "30")),
            cleanup_retry_max=float(os.environ.get("YOUTHVOICE_CLEANUP_RETRY_MAX", "600")),
        )
        values.update(overrides)
        if values["secret_key"] is None:
            values["secret_key"] = _secret_key(Path(values["var_dir"]))  # type: ignore[arg-type]
        if int(values["min_cell"]) < 1:  # type: ignore[arg-type]
            raise ValueError("YOUTHVOICE_MIN_CELL must be at least 1")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def hosts(self) -> frozenset[str]:
        """The host names (lower case, no port) requests may name."""
        names = {h.lower() for h in self.allowed_hosts}
        if self.base_url:
            names.add((urlsplit(self.base_url).hostname or "").lower())
        return frozenset(names or {"localhost", "127.0.0.1", "::1"})

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url and self.mail_from)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
