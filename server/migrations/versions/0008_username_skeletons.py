"""users.username_skeleton: refuse look-alike usernames

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_skeleton', sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_username_skeleton'), ['username_skeleton'], unique=False)
    # Existing names get their skeleton too, so new look-alikes of them are refused.
    # Not unique: names registered before this check may already look alike.
    from server.domain.identity import skeleton

    connection = op.get_bind()
    users = sa.table('users', sa.column('id', sa.String), sa.column('username', sa.String),
                     sa.column('username_skeleton', sa.String))
    for user_id, username in connection.execute(sa.select(users.c.id, users.c.username)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(username_skeleton=skeleton(username)))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_username_skeleton'))
        batch_op.drop_column('username_skeleton')
