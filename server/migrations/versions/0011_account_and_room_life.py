"""account and room life: why a session ended; names held after an account is deleted; social identities

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_sessions') as batch:
        batch.add_column(sa.Column('ended_reason', sa.String(length=32), nullable=True))
    op.create_table('held_usernames',
    sa.Column('username_key', sa.String(length=64), nullable=False),
    sa.Column('free_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username_key')
    )
    op.create_index(op.f('ix_held_usernames_free_at'), 'held_usernames', ['free_at'], unique=False)
    op.create_table('identities',
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('provider', 'subject')
    )
    op.create_index(op.f('ix_identities_user_id'), 'identities', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_identities_user_id'), table_name='identities')
    op.drop_table('identities')
    op.drop_index(op.f('ix_held_usernames_free_at'), table_name='held_usernames')
    op.drop_table('held_usernames')
    with op.batch_alter_table('user_sessions') as batch:
        batch.drop_column('ended_reason')
