"""secureline: a secure communication line between police organisations' networks."""

__version__ = "0.1.0"
