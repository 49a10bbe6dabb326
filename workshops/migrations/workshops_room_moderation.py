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


# Plain ADD COLUMN, never batch mode: on SQLite a batch rebuild drops and recreates the table, and
# dropping it cascades through the foreign keys (revisions, votes, history entries would go).
def upgrade() -> None:
    op.add_column("workshop", sa.Column("hold_new", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("workshop", sa.Column("deleted_at_close", sa.Integer(), nullable=True))
    op.add_column("workshop_statement", sa.Column("screen", sa.String(length=8), nullable=False,
                                                  server_default="shown"))
    op.add_column("workshop_participant", sa.Column("rejoin_hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_workshop_participant_rejoin_hash"), "workshop_participant", ["rejoin_hash"],
                    unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_workshop_participant_rejoin_hash"), table_name="workshop_participant")
    op.drop_column("workshop_participant", "rejoin_hash")
    op.drop_column("workshop_statement", "screen")
    op.drop_column("workshop", "deleted_at_close")
    op.drop_column("workshop", "hold_new")
