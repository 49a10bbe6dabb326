"""survey: waiting answers sealed (AES-GCM under a key derived from the service's secret); spent codes
and once-only values marked until the release rewrites them

Revision ID: survey_sealed_intake
Revises: survey_release_intake

Answers already waiting are sealed here with the secret key of the settings from the environment
(YOUTHVOICE_SECRET_KEY or the generated key under ./var, the same the server uses), so none is lost
and none stays in clear in the table.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "survey_sealed_intake"
down_revision = "survey_release_intake"
branch_labels = None
depends_on = None

BACKGROUND = ("gender", "age_band", "newly_arrived", "disability")
SEALED = ("unit_id", "month", "language", *BACKGROUND, "closer", "useful", "answers")


def _sealer():
    from survey.sealing import Sealer

    key = op.get_context().config.attributes.get("secret_key")
    if not key:
        from youthvoice.config import Settings

        key = Settings.from_env().secret_key
    return Sealer(key)


def _intake(sealed: bool) -> None:
    op.create_table(
        "response_intake",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        *((sa.Column("sealed", sa.LargeBinary(), nullable=False),) if sealed else (
            sa.Column("unit_id", sa.Integer(), nullable=False),
            sa.Column("month", sa.Integer(), nullable=False),
            sa.Column("language", sa.String(length=8), nullable=False),
            *(sa.Column(c, sa.String(length=16), nullable=True) for c in BACKGROUND),
            sa.Column("closer", sa.SmallInteger(), nullable=True),
            sa.Column("useful", sa.SmallInteger(), nullable=True),
            sa.Column("answers", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_response_intake_unit_id_unit"),
                                    ondelete="RESTRICT"))),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], name=op.f("fk_response_intake_survey_id_survey"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["survey_version.id"],
                                name=op.f("fk_response_intake_version_id_survey_version"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_intake")),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    for table in ("survey_code", "submission_nonce"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()))
    conn = op.get_bind()
    rows = [dict(r) for r in conn.execute(sa.text(
        f"SELECT id, survey_id, version_id, {', '.join(SEALED)} FROM response_intake")).mappings()]
    op.drop_table("response_intake")
    _intake(sealed=True)
    if rows:
        sealer = _sealer()
        out = []
        for r in rows:
            answers = r["answers"]
            fields = {c: r[c] for c in SEALED}
            fields["answers"] = json.loads(answers) if isinstance(answers, str) else answers
            out.append({"id": r["id"], "survey_id": r["survey_id"], "version_id": r["version_id"],
                        "sealed": sealer.seal(r["id"], r["survey_id"], r["version_id"], fields)})
        conn.execute(sa.text("INSERT INTO response_intake (id, survey_id, version_id, sealed) "
                             "VALUES (:id, :survey_id, :version_id, :sealed)"), out)


def downgrade() -> None:
    conn = op.get_bind()
    rows = [dict(r) for r in conn.execute(sa.text(
        "SELECT id, survey_id, version_id, sealed FROM response_intake")).mappings()]
    op.drop_table("response_intake")
    _intake(sealed=False)
    if rows:
        sealer = _sealer()
        out = []
        for r in rows:
            f = sealer.open(r["id"], r["survey_id"], r["version_id"], r["sealed"])
            out.append({"id": r["id"], "survey_id": r["survey_id"], "version_id": r["version_id"],
                        **{c: f.get(c) for c in SEALED}, "answers": json.dumps(f.get("answers"))})
        cols = ["id", "survey_id", "version_id", *SEALED]
        conn.execute(sa.text(f"INSERT INTO response_intake ({', '.join(cols)}) VALUES "
                             f"({', '.join(':' + c for c in cols)})"), out)
    for table in ("survey_code", "submission_nonce"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("pending")
