"""Output tables: typed Arrow schemas and the partition writer."""

from pipeline.tables.schemas import SCHEMA_VERSION, TABLES
from pipeline.tables.writer import read_table, write_partition

__all__ = ["SCHEMA_VERSION", "TABLES", "read_table", "write_partition"]
