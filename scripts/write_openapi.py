"""Write openapi.json (committed) from astapa/web/openapi.py, the document the server serves.

    python scripts/write_openapi.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from astapa.web.service import OPENAPI_BYTES  # noqa: E402

(ROOT / "openapi.json").write_bytes(OPENAPI_BYTES)
