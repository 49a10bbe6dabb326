"""closing the loop: answer history, milestones, promised dates, replies, links, e-mail nudges

Revision ID: workshops_loop
Revises: workshops_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "workshops_loop"
down_revision = "workshops_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workshop") as b:
        b.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("workshop_statement") as b:
        b.add_column(sa.Column("promised_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("replies_until", sa.Date(), nullable=True))
        b.create_index(b.f("ix_workshop_statement_promised_on"), ["promised_on"])
    op.create_table(
        "workshop_statement_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("reply_kind", sa.String(length=16), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("next_update_by", sa.Date(), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["statement_id"], ["workshop_statement.id"],
                                name=op.f("fk_workshop_statement_entry_statement_id_workshop_statement"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_workshop_statement_entry_unit_id_unit"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_statement_entry")),
    )
    op.create_index(op.f("ix_workshop_statement_entry_statement_id"), "workshop_statement_entry", ["statement_id"])
    op.create_table(
        "workshop_statement_link",
        sa.Column("statement_id", sa.String(length=32), nullable=False),
        sa.Column("earlier_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["statement_id"], ["workshop_statement.id"],
                                name=op.f("fk_workshop_statement_link_statement_id_workshop_statement"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["earlier_id"], ["workshop_statement.id"],
                                name=op.f("fk_workshop_statement_link_earlier_id_workshop_statement"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("statement_id", "earlier_id", name=op.f("pk_workshop_statement_link")),
    )
    op.create_index(op.f("ix_workshop_statement_link_earlier_id"), "workshop_statement_link", ["earlier_id"])
    op.create_table(
        "workshop_reply_code",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshop.id"],
                                name=op.f("fk_workshop_reply_code_workshop_id_workshop"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_workshop_reply_code")),
    )
    op.create_index(op.f("ix_workshop_reply_code_workshop_id"), "workshop_reply_code", ["workshop_id"])
    op.create_table(
        "workshop_subscription",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("statement_id", sa.String(length=32), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["statement_id"], ["workshop_statement.id"],
                                name=op.f("fk_workshop_subscription_statement_id_workshop_statement"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_subscription")),
    )
    op.create_index(op.f("ix_workshop_subscription_statement_id"), "workshop_subscription", ["statement_id"])
    # Answers given before the history existed become its first entries, so nothing is lost.
    bind = op.get_bind()
    old = bind.execute(sa.text(
        "SELECT s.id, s.response_status, s.response_text, s.response_on, w.unit_id FROM workshop_statement s "
        "JOIN workshop w ON w.id = s.workshop_id WHERE s.response_status IS NOT NULL")).all()
    entry = sa.table("workshop_statement_entry", sa.column("statement_id"), sa.column("kind"), sa.column("status"),
                     sa.column("texts", sa.JSON()), sa.column("on"), sa.column("unit_id"), sa.column("author_role"))
    for sid, status, text, on, unit_id in old:
        bind.execute(entry.insert().values(statement_id=sid, kind="response", status=status,
                                           texts={"sv": text} if text else {}, on=on or sa.func.current_date(),
                                           unit_id=unit_id, author_role="staff"))


def downgrade() -> None:
    op.drop_table("workshop_subscription")
    op.drop_table("workshop_reply_code")
    op.drop_table("workshop_statement_link")
    op.drop_table("workshop_statement_entry")
    with op.batch_alter_table("workshop_statement") as b:
        b.drop_index(b.f("ix_workshop_statement_promised_on"))
        b.drop_column("replies_until")
        b.drop_column("promised_on")
    with op.batch_alter_table("workshop") as b:
        b.drop_column("languages")
