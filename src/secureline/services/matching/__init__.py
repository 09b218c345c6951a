"""Matching: the holdings index, names across scripts, strong identifiers, scoring with
reasons, and the measured quality (docs/matching.md)."""
