"""Imports and exports in the field's formats: STIX 2.1 bundles (``stix``), MISP events
(``misp``). Each import becomes one message sent through ``Messaging.send``, idempotent by
the file's digest, audited (``interop.imported``) in the transaction that stores it."""
