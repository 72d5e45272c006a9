"""The import rules that keep the layout of docs/architecture.md: domain/ is pure, oauth/
holds protocol rules only, web/ sits over app/ over store/, and no folder cycles. The
contracts live in pyproject.toml ([tool.importlinter]); import-linter checks them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
