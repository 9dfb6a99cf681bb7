"""Exit 0 when PostgreSQL answers at the given URL."""
import sys

import psycopg

url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
    print(f"PostgreSQL not ready: {exc}", file=sys.stderr)
    sys.exit(1)
