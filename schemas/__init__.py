"""Every table's schema: the single source of truth for column names and types."""
from schemas.tables import TABLES, TableSpec, table_spec

__all__ = ["TABLES", "TableSpec", "table_spec"]
