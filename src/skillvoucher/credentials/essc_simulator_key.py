"""The e-SSC simulator's ID-token signing key (ES256, P-256), kept in the key directory.

ES256 rather than the vouchers' Ed25519: it is what real OpenID providers publish, so the
relying party is exercised with the same algorithm family it meets in production. The key only
ever signs simulated identities; production refuses to run the simulator at all.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from joserfc.jwk import ECKey

SIMULATOR_KEY_FILE = "essc-simulator.key.pem"
SIMULATOR_ALG = "ES256"


def load_or_create_simulator_key(key_dir: Path) -> ECKey:
    """The simulator's private key, made on first use; ``kid`` is its RFC 7638 thumbprint."""
    path = key_dir / SIMULATOR_KEY_FILE
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        generated = ECKey.generate_key("P-256", private=True)
        # mkstemp creates the file 0600; the rename makes it appear whole or not at all.
        fd, tmp_name = tempfile.mkstemp(dir=key_dir, prefix=f".{SIMULATOR_KEY_FILE}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(generated.as_pem(private=True))
        os.replace(tmp_name, path)
    key = ECKey.import_key(path.read_bytes())
    key.ensure_kid()
    return key
