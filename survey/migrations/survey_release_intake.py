"""survey: answers wait in an intake until the release; secret record keys and key sums for the cell key method

Revision ID: survey_release_intake
Revises: survey_0001
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "survey_release_intake"
down_revision = "survey_0001"
branch_labels = None
depends_on = None

BACKGROUND = ("gender", "age_band", "newly_arrived", "disability")
SUMS = ("n", "closer_k", "closer_n", "closer_dk", "useful_k", "useful_n", "useful_dk")
KEY = ("survey_id", "version_id", "month", *BACKGROUND)


def _sums(closer, useful):
    return (1, int(closer is not None and closer >= 4), int(closer is not None), int(closer == 0),
            int(useful is not None and useful >= 4), int(useful is not None), int(useful == 0))


def upgrade() -> None:
    op.create_table(
        "response_intake",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        *(sa.Column(c, sa.String(length=16), nullable=True) for c in BACKGROUND),
        sa.Column("closer", sa.SmallInteger(), nullable=True),
        sa.Column("useful", sa.SmallInteger(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], name=op.f("fk_response_intake_survey_id_survey"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["survey_version.id"],
                                name=op.f("fk_response_intake_version_id_survey_version"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_response_intake_unit_id_unit"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_intake")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("record_key", sa.SmallInteger(), nullable=False, server_default="0"))
    conn = op.get_bind()
    # Answers stored before this revision get their secret keys now, and the counts are rebuilt
    # from them (and from the purged aggregates, whose keys are drawn here too).
    rows = conn.execute(sa.text(f"SELECT id, closer, useful, unit_id, {', '.join(KEY)} FROM response")).mappings().all()
    cells: dict = {}
    upd = []
    for r in rows:
        key = secrets.randbelow(256)
        upd.append({"i": r["id"], "k": key})
        acc = cells.setdefault((*(r[c] if c not in BACKGROUND else (r[c] or "") for c in KEY), r["unit_id"]),
                               [0] * 14)
        for i, v in enumerate(_sums(r["closer"], r["useful"])):
            if v:
                acc[i] += 1
                acc[7 + i] += key
    if upd:
        conn.execute(sa.text("UPDATE response SET record_key = :k WHERE id = :i"), upd)
    for r in conn.execute(sa.text(f"SELECT closer, useful, n, unit_id, {', '.join(KEY)} FROM response_aggregate")).mappings():
        acc = cells.setdefault((*(r[c] if c not in BACKGROUND else (r[c] or "") for c in KEY), r["unit_id"]),
                               [0] * 14)
        for i, v in enumerate(_sums(r["closer"], r["useful"])):
            if v:
                acc[i] += r["n"]
                acc[7 + i] += sum(secrets.randbelow(256) for _ in range(r["n"]))
    op.drop_table("response_count")
    op.create_table(
        "response_count",
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.String(length=16), nullable=False) for c in BACKGROUND),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in SUMS),
        *(sa.Column(f"{c}_key", sa.Integer(), nullable=False) for c in SUMS),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], name=op.f("fk_response_count_survey_id_survey"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["survey_version.id"],
                                name=op.f("fk_response_count_version_id_survey_version"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_response_count_unit_id_unit"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("survey_id", "version_id", "month", *BACKGROUND, name=op.f("pk_response_count")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_response_count_unit_id", "response_count", ["unit_id"], unique=False)
    if cells:
        cols = [*KEY, "unit_id", *SUMS, *(f"{c}_key" for c in SUMS)]
        conn.execute(sa.text(f"INSERT INTO response_count ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                     [dict(zip(cols, (*cell, *acc[:7], *(k % 256 for k in acc[7:])))) for cell, acc in sorted(cells.items())])


def downgrade() -> None:
    op.drop_table("response_intake")
    with op.batch_alter_table("response") as batch:
        batch.drop_column("record_key")
