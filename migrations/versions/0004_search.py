"""Search: situation words per need, the catalogue revision, unanswered searches.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('situations', sa.JSON(), server_default='[]', nullable=False))
    op.create_table('catalogue_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_revision'))
    )
    revisions = sa.table('catalogue_revision', sa.column('id', sa.Integer), sa.column('token', sa.String))
    # The row exists from the start, so concurrent first edits only ever UPDATE it.
    op.bulk_insert(revisions, [{'id': 1, 'token': 'initial'}])
    op.create_table('unanswered_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('folded', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unanswered_search'))
    )
    with op.batch_alter_table('unanswered_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unanswered_search_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unanswered_search_folded'), ['folded'], unique=False)


def downgrade():
    with op.batch_alter_table('unanswered_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unanswered_search_folded'))
        batch_op.drop_index(batch_op.f('ix_unanswered_search_created_at'))
    op.drop_table('unanswered_search')
    op.drop_table('catalogue_revision')
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.drop_column('situations')
