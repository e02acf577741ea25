"""Output tables: typed Arrow schemas, the partition writer and the commit manifest readers honour."""

from pipeline.tables.schemas import SCHEMA_VERSION, TABLES
from pipeline.tables.writer import WrittenFile, commit, read_commit, read_table, write_file, write_partition

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "WrittenFile",
    "commit",
    "read_commit",
    "read_table",
    "write_file",
    "write_partition",
]
