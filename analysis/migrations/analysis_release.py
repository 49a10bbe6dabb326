"""analysis: releases of published figures; secret record keys on exits

Revision ID: analysis_release
Revises: analysis_0001
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "analysis_release"
down_revision = "analysis_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exit_record") as batch:
        batch.add_column(sa.Column("record_key", sa.SmallInteger(), nullable=False, server_default="0"))
    conn = op.get_bind()
    ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM exit_record"))]
    if ids:
        conn.execute(sa.text("UPDATE exit_record SET record_key = :k WHERE id = :i"),
                     [{"i": i, "k": secrets.randbelow(256)} for i in ids])
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("published", sa.Date(), nullable=False),
        sa.Column("next", sa.Date(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release")),
        sa.UniqueConstraint("key", name=op.f("uq_release_key")),
    )
    op.create_table(
        "release_table",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("view", sa.String(length=400), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], name=op.f("fk_release_table_release_id_release"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id", "view", name=op.f("pk_release_table")),
    )


def downgrade() -> None:
    op.drop_table("release_table")
    op.drop_table("release")
    with op.batch_alter_table("exit_record") as batch:
        batch.drop_column("record_key")
