"""Passwords are hashed with Argon2id at RFC 9106's low-memory profile (the suite swaps in a
cheaper one for speed, so this looks at a fresh process)."""

from __future__ import annotations

import subprocess
import sys

HASH_IN_A_FRESH_PROCESS = """
import asyncio
from inspection_api.auth.service import hash_password
print(asyncio.run(hash_password("correct horse battery staple")))
"""


def test_production_hashes_use_argon2id_at_the_rfc_9106_low_memory_profile():
    hashed = subprocess.run(
        [sys.executable, "-c", HASH_IN_A_FRESH_PROCESS],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), hashed
