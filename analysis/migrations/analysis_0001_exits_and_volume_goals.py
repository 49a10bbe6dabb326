"""analysis: exit register and volume goals

Revision ID: analysis_0001
Revises: core_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "analysis_0001"
down_revision = "core_0001"
branch_labels = ("analysis",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exit_record",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("gender", sa.String(length=16), nullable=False),
        sa.Column("age_band", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_exit_record_unit_id_unit"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exit_record")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_exit_record_stats", "exit_record", ["unit_id", "month"], unique=False)
    op.create_table(
        "volume_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_per_year", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreement.id"],
                                name=op.f("fk_volume_goal_agreement_id_agreement"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_goal")),
    )
    op.create_index(op.f("ix_volume_goal_agreement_id"), "volume_goal", ["agreement_id"], unique=False)
    op.create_table(
        "volume_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["goal_id"], ["volume_goal.id"], name=op.f("fk_volume_count_goal_id_volume_goal"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_volume_count_unit_id_unit"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_count")),
    )
    op.create_index("ix_volume_count_goal_month", "volume_count", ["goal_id", "month"], unique=False)
    op.create_index(op.f("ix_volume_count_unit_id"), "volume_count", ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_table("volume_count")
    op.drop_table("volume_goal")
    op.drop_table("exit_record")
