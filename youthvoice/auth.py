"""Staff authentication: argon2 passwords, server-side sessions, bearer tokens, unit scope."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Request
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import is_read_only, write_apart
from .models import ROLES, Agreement, ApiToken, AuditEntry, StaffSession, Unit, User

SESSION_COOKIE = "yv_session"
SESSION_HOURS = 10
MIN_PASSWORD = 12

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps login time equal for unknown e-mails. Made on first
    use, not at import: an argon2 hash takes ~0.3 s of the server's start (BENCHMARKS.md, P5)."""
    return _hasher.hash("not-a-real-password-for-timing")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def authenticate(db: AsyncSession, email: str, password: str) -> User | None:
    user = (await db.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user and user.active else None


async def start_session(db: AsyncSession, user: User, old_token: str | None = None) -> tuple[str, str]:
    """New session id on every login; any earlier session of this browser ends."""
    if old_token:
        await db.execute(delete(StaffSession).where(StaffSession.token_hash == token_digest(old_token)))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db.add(StaffSession(token_hash=token_digest(token), user_id=user.id, csrf_token=csrf,
                        expires_at=utcnow() + dt.timedelta(hours=SESSION_HOURS)))
    await db.flush()
    return token, csrf


async def end_session(db: AsyncSession, token: str | None) -> None:
    if token:
        await db.execute(delete(StaffSession).where(StaffSession.token_hash == token_digest(token)))
        await db.flush()


async def create_api_token(db: AsyncSession, user: User) -> str:
    token = "yv_" + secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    await db.flush()
    return token


async def session_of(db: AsyncSession, token: str) -> tuple[User, StaffSession] | None:
    row = (await db.execute(
        select(User, StaffSession).join(StaffSession, StaffSession.user_id == User.id)
        .where(StaffSession.token_hash == token_digest(token))
    )).first()
    if not row:
        return None
    user, sess = row
    expires = sess.expires_at if sess.expires_at.tzinfo else sess.expires_at.replace(tzinfo=dt.UTC)
    if expires < utcnow() or not user.active:
        return None
    return user, sess


async def user_from_request(request: Request, db: AsyncSession) -> User | None:
    """Bearer token (JSON API) or session cookie (HTML). Stores the session on request.state."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        user = (await db.execute(
            select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == token_digest(token))
        )).scalar_one_or_none()
        return user if user and user.active else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await session_of(db, cookie)
        # A session cookie alone does not authorise changes through the JSON API: a
        # cross-site page could send it. Staff scripts send the session's CSRF token.
        if found and request.method not in ("GET", "HEAD", "OPTIONS") and request.url.path.startswith("/api/") \
                and not hmac.compare_digest(request.headers.get("x-csrf-token", ""), found[1].csrf_token):
            return None
        if found:
            request.state.csrf_token = found[1].csrf_token
            request.state.staff_user = found[0]
            return found[0]
    return None


async def provide_user(request: Request, db: AsyncSession) -> User:
    user = await user_from_request(request, db)
    if user is None:
        raise NotAuthorizedException("sign in first")
    return user


class Scope:
    """Which units a staff user sees: admin all, process leader the agreements of their
    units, facilitator their own units."""

    def __init__(self, user: User, units: list[Unit]):
        self.user = user
        self.units = units
        self.unit_ids = {u.id for u in units}
        self.by_slug = {u.slug: u for u in units}

    def unit(self, slug: str | None) -> Unit:
        """The unit by slug if in scope; 404 otherwise, so other units' slugs don't leak."""
        if slug is None or slug not in self.by_slug:
            raise NotFoundException(f"unit: no unit '{slug}' that you can see")
        return self.by_slug[slug]

    def require(self, *roles: str) -> None:
        if self.user.role not in roles:
            raise PermissionDeniedException("your role cannot do this")


async def scope_for(db: AsyncSession, user: User) -> Scope:
    q = select(Unit).order_by(Unit.name)
    if user.role == "admin":
        pass
    elif user.role == "process_leader":
        agreement_ids = {u.agreement_id for u in user.units}
        q = q.where(Unit.agreement_id.in_(agreement_ids or {-1}))
    else:
        q = q.where(Unit.id.in_({u.id for u in user.units} or {-1}))
    return Scope(user, list((await db.execute(q)).scalars()))


async def provide_scope(request: Request, db: AsyncSession) -> Scope:
    user = await provide_user(request, db)
    request.state.staff_user = user  # pages and their error pages show the staff menu
    return await scope_for(db, user)


async def audit(db: AsyncSession, user: User | None, action: str, subject: str = "",
                at: dt.datetime | None = None) -> None:
    """Written with the request's change; a request that only reads (a download) writes it in a
    short write transaction of its own, committed before the file is sent. `at` replaces the
    moment (exports keep only their day: youthvoice/tables.py send_table)."""
    entry = AuditEntry(user_id=user.id if user else None, action=action, subject=subject[:500],
                       **({"at": at} if at is not None else {}))
    if is_read_only(db):
        async def add(session: AsyncSession) -> None:
            session.add(entry)
        await write_apart(db, add)
    else:
        db.add(entry)


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    return (await db.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()


async def revoke_tokens(db: AsyncSession, user: User, by: User | None = None) -> int:
    """Ends every API token of `user` at once (the next request with one gets 401)."""
    n = (await db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))).rowcount or 0
    await audit(db, by, "token.revoke", f"user {user.id} {user.email}: {n} tokens")
    await db.flush()
    return n


async def deactivate(db: AsyncSession, user: User, by: User | None = None) -> tuple[int, int]:
    """The account can no longer sign in; its sessions and API tokens end now, not at expiry."""
    user.active = False
    sessions = (await db.execute(delete(StaffSession).where(StaffSession.user_id == user.id))).rowcount or 0
    tokens = (await db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))).rowcount or 0
    await audit(db, by, "user.deactivate", f"user {user.id} {user.email}: {sessions} sessions, {tokens} tokens")
    await db.flush()
    return sessions, tokens


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return role


__all__ = [
    "Agreement",
    "Scope",
    "audit",
    "authenticate",
    "check_role",
    "create_api_token",
    "deactivate",
    "end_session",
    "hash_password",
    "provide_scope",
    "provide_user",
    "revoke_tokens",
    "scope_for",
    "start_session",
    "user_by_email",
    "user_from_request",
]
