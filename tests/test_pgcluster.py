"""Self-test of the throwaway PostgreSQL cluster used by the test suite."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests import pgcluster

pytestmark = pytest.mark.skipif(
    not pgcluster.pg_available() and not os.environ.get("YOUTHVOICE_REQUIRE_PG"),
    reason="PostgreSQL server binaries not installed (make test installs them)",
)


async def _query(url: str, sql: str, *, script: bool = False):
    import asyncpg

    conn = await asyncpg.connect(pgcluster._asyncpg_dsn(url))
    try:
        return await (conn.execute(sql) if script else conn.fetch(sql))
    finally:
        await conn.close()


@pytest.mark.slow  # starts a second cluster
def test_cluster_template_clone_and_cleanup():
    with pgcluster.temporary_cluster() as admin:
        assert admin.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
        assert admin.endswith("/postgres")
        cluster_root = _cluster_root(admin)

        pgcluster.create_database(admin, "tpl")
        tpl = pgcluster.database_url(admin, "tpl")
        asyncio.run(_query(tpl, "create table marker (v text); insert into marker values ('سلام')", script=True))

        pgcluster.create_database(admin, "clone", template="tpl")
        clone = pgcluster.database_url(admin, "clone")
        assert asyncio.run(_query(clone, "select 1 as one"))[0]["one"] == 1
        assert asyncio.run(_query(clone, "select v from marker"))[0]["v"] == "سلام"
        assert asyncio.run(_query(admin, "select rolsuper from pg_roles where rolname = current_user"))[0][0]

        pgcluster.drop_database(admin, "clone")
        pgcluster.drop_database(admin, "clone")  # idempotent
        names = {r[0] for r in asyncio.run(_query(admin, "select datname from pg_database"))}
        assert "clone" not in names and "tpl" in names

    # server stopped, data directory gone
    assert cluster_root is None or not os.path.exists(cluster_root)


def _cluster_root(admin: str) -> str | None:
    rows = asyncio.run(_query(admin, "show data_directory"))
    return os.path.dirname(rows[0][0])


def test_database_url_keeps_query():
    url = "postgresql+asyncpg://postgres@/postgres?host=/tmp/x"
    assert pgcluster.database_url(url, "t1") == "postgresql+asyncpg://postgres@/t1?host=/tmp/x"


def test_a_used_database_is_emptied_to_the_template_or_refused(pg_admin_url, pg_template, pg_shape):
    """The suite hands a PostgreSQL test database to the next test only after it is back to the
    template's state: rows gone, ids counted from 1 again, other sessions ended; a changed schema is refused."""
    if pg_admin_url is None:
        pytest.skip("PostgreSQL not available here")
    name = "reset_check"
    pgcluster.create_database(pg_admin_url, name, template=pg_template)
    url = pgcluster.database_url(pg_admin_url, name)

    async def used():
        import asyncpg

        other = await asyncpg.connect(pgcluster._asyncpg_dsn(url))  # left open, as a killed server would
        await other.execute("INSERT INTO agreement (slug, name, targets) VALUES ('a', 'A', '{}'), ('b', 'B', '{}')")
        ok = await pgcluster.areset_database(url, pg_shape)
        assert other.is_closed() or await _closed(other)
        return ok

    try:
        assert asyncio.run(used()) is True
        assert asyncio.run(_query(url, "select count(*) from agreement"))[0][0] == 0
        asyncio.run(_query(url, "insert into agreement (slug, name, targets) values ('c', 'C', '{}')", script=True))
        assert asyncio.run(_query(url, "select id from agreement"))[0][0] == 1
        assert asyncio.run(_query(url, "select version_num from alembic_version"))  # the migration state stays
        asyncio.run(_query(url, "create table extra (x int)", script=True))
        assert asyncio.run(pgcluster.areset_database(url, pg_shape)) is False
    finally:
        pgcluster.drop_database(pg_admin_url, name)


async def _closed(conn) -> bool:
    import asyncpg

    try:
        await conn.fetch("select 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        return True
    return False
