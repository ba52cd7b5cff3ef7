"""numba code that runs inside Spark tasks. Every process (driver, Spark's Python workers,
spark-submit jobs) shares one on-disk cache of compiled code, so each kernel compiles once."""
import os
from pathlib import Path

NUMBA_CACHE_DIR = os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".cache" / "numba"))
