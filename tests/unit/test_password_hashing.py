"""Passwords are hashed with Argon2id at RFC 9106's low-memory profile (the suite swaps in a
cheaper one for speed, so this looks at a fresh process)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from inspection_api.auth.service import _DUMMY_HASH, _dummy_hash

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


def test_an_unknown_username_is_checked_against_a_ready_hash_at_production_parameters():
    """No hash is made at the first unknown username (it cost a hash and a verification,
    twice a known user's login): the dummy is a constant at the production parameters."""
    hasher = PasswordHasher()
    dummy = _dummy_hash(hasher)
    assert dummy == _DUMMY_HASH
    assert not hasher.check_needs_rehash(dummy)  # costs what a real user's hash costs
    with pytest.raises(VerifyMismatchError):
        hasher.verify(dummy, "loancheck-dummy-password")


def test_a_hasher_of_other_parameters_gets_a_dummy_at_its_own_parameters():
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    dummy = _dummy_hash(cheap)
    assert dummy.startswith("$argon2id$v=19$m=1024,t=1,p=1$"), dummy
    assert not cheap.check_needs_rehash(dummy)
