"""Output tables: typed Arrow schemas (the contract analysts' SQL relies on) and the committed view
readers honour. Writing and committing a run's files is the commit stage's (pipeline.commit)."""

from pipeline.tables.reader import committed_dates, read_commit, read_table
from pipeline.tables.schemas import SCHEMA_VERSION, TABLES

__all__ = ["SCHEMA_VERSION", "TABLES", "committed_dates", "read_commit", "read_table"]
