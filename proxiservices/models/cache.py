"""The directory generation: one number that moves whenever a directory or tree row changes,
so that each process can keep answers computed from them until it moves (see
services/answer_cache.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from proxiservices.extensions import db


class DirectoryGeneration(db.Model):
    """A single row (id 1). Its first value is random, so that a database rebuilt from
    scratch never reuses the numbers an older one had."""

    __tablename__ = "directory_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
