"""Crypto layer: keys, certificates, signed envelopes and encrypted bodies (see errors.py)."""
