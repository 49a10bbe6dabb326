"""room moderation, rejoin codes and the close result

Revision ID: workshops_room
Revises: workshops_0001

- workshop.hold_new: new participant statements wait for the facilitator's OK before the room and
  the projector see them.
- workshop_statement.screen: 'shown', 'held' (waiting for the OK) or 'hidden' (kept off the projector).
- workshop_participant.rejoin_hash: a short personal code (hashed) that lets a phone that lost its
  cookie back in as the same participant; deleted with the participant at close.
- workshop.deleted_at_close: how many statements were deleted at close, for "5 sent on, 1 deleted".
"""
import sqlalchemy as sa
from alembic import op

revision = "workshops_room"
down_revision = "workshops_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workshop") as b:
        b.add_column(sa.Column("hold_new", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("deleted_at_close", sa.Integer(), nullable=True))
    with op.batch_alter_table("workshop_statement") as b:
        b.add_column(sa.Column("screen", sa.String(length=8), nullable=False, server_default="shown"))
    with op.batch_alter_table("workshop_participant") as b:
        b.add_column(sa.Column("rejoin_hash", sa.String(length=64), nullable=True))
        b.create_unique_constraint(op.f("uq_workshop_participant_rejoin_hash"), ["rejoin_hash"])


def downgrade() -> None:
    with op.batch_alter_table("workshop_participant") as b:
        b.drop_constraint(op.f("uq_workshop_participant_rejoin_hash"), type_="unique")
        b.drop_column("rejoin_hash")
    with op.batch_alter_table("workshop_statement") as b:
        b.drop_column("screen")
    with op.batch_alter_table("workshop") as b:
        b.drop_column("deleted_at_close")
        b.drop_column("hold_new")
