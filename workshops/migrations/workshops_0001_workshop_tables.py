"""workshop tables

Revision ID: workshops_0001
Revises: core_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "workshops_0001"
down_revision = "core_0001"
branch_labels = ("workshops",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workshop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("neutral_place", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("composition", sa.JSON(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("feedback_months", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_workshop_unit_id_unit"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop")),
        sa.UniqueConstraint("code", name=op.f("uq_workshop_code")),
    )
    op.create_index(op.f("ix_workshop_unit_id"), "workshop", ["unit_id"], unique=False)
    op.create_table(
        "workshop_participant",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("nickname", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshop.id"],
                                name=op.f("fk_workshop_participant_workshop_id_workshop"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_participant")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_workshop_participant_token_hash")),
    )
    op.create_index(op.f("ix_workshop_participant_workshop_id"), "workshop_participant", ["workshop_id"])
    op.create_table(
        "workshop_statement",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("response_status", sa.String(length=16), nullable=True),
        sa.Column("response_text", sa.Text(), nullable=True),
        sa.Column("response_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["workshop_participant.id"],
                                name=op.f("fk_workshop_statement_author_id_workshop_participant"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshop.id"],
                                name=op.f("fk_workshop_statement_workshop_id_workshop"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_statement")),
    )
    op.create_index(op.f("ix_workshop_statement_workshop_id"), "workshop_statement", ["workshop_id"])
    op.create_table(
        "workshop_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["statement_id"], ["workshop_statement.id"],
                                name=op.f("fk_workshop_revision_statement_id_workshop_statement"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_revision")),
        sa.UniqueConstraint("statement_id", "number", name=op.f("uq_workshop_revision_statement_id")),
    )
    op.create_index(op.f("ix_workshop_revision_statement_id"), "workshop_revision", ["statement_id"])
    for table in ("workshop_support", "workshop_vote"):
        cols = [
            sa.Column("statement_id", sa.String(length=32), nullable=False),
            sa.Column("participant_id", sa.String(length=32), nullable=False),
        ]
        if table == "workshop_vote":
            cols.append(sa.Column("vote", sa.String(length=8), nullable=False))
        op.create_table(
            table, *cols,
            sa.ForeignKeyConstraint(["participant_id"], ["workshop_participant.id"],
                                    name=op.f(f"fk_{table}_participant_id_workshop_participant"), ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["statement_id"], ["workshop_statement.id"],
                                    name=op.f(f"fk_{table}_statement_id_workshop_statement"), ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("statement_id", "participant_id", name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    for table in ("workshop_vote", "workshop_support", "workshop_revision", "workshop_statement",
                  "workshop_participant", "workshop"):
        op.drop_table(table)
