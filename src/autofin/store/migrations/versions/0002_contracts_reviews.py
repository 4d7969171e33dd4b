"""Contracts, underwriter reviews and the quote log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("menu", sa.String(length=16), nullable=False),
        sa.Column("offer_rank", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_financed", sa.String(length=40), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=False),
        sa.Column("accepted_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_contracts_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_contracts_decision_id_decisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("application_id", name=op.f("uq_contracts_application_id")),
    )
    op.create_index(op.f("ix_contracts_dealer_id"), "contracts", ["dealer_id"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("referred_decision_id", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_reviews_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_reviews_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["referred_decision_id"], ["decisions.id"], name=op.f("fk_reviews_referred_decision_id_decisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_application_id"), "reviews", ["application_id"], unique=False)
    op.create_table(
        "quote_log",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=100), nullable=False),
        sa.Column("amount_financed", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_log")),
    )
    op.create_index(op.f("ix_quote_log_at"), "quote_log", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_quote_log_at"), table_name="quote_log")
    op.drop_table("quote_log")
    op.drop_index(op.f("ix_reviews_application_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_contracts_dealer_id"), table_name="contracts")
    op.drop_table("contracts")
