"""expiry everywhere: an upload's blob id and last activity, the server clock's high-water mark

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blob_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('touched_at', sa.DateTime(timezone=True), nullable=True))
    uploads = sa.table('uploads', sa.column('id', sa.String), sa.column('blob_id', sa.String),
                       sa.column('created_at', sa.DateTime), sa.column('touched_at', sa.DateTime))
    connection = op.get_bind()
    for (upload_id,) in connection.execute(sa.select(uploads.c.id)).all():
        connection.execute(uploads.update().where(uploads.c.id == upload_id).values(
            blob_id=secrets.token_hex(16), touched_at=uploads.c.created_at))
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.alter_column('blob_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('touched_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_uploads_blob_id'), ['blob_id'])
        batch_op.create_index(batch_op.f('ix_uploads_touched_at'), ['touched_at'], unique=False)

    op.create_table('server_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('high_water', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('server_clock')
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploads_touched_at'))
        batch_op.drop_constraint(batch_op.f('uq_uploads_blob_id'), type_='unique')
        batch_op.drop_column('touched_at')
        batch_op.drop_column('blob_id')
