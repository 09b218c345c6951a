"""Other formats of the field (STIX 2.1, MISP events), read and written as pure functions.

Parsing a partner's document, mapping its markings to our handling codes and its objects to
FollowTheMoney entities are rules, not I/O: they live here, and ``services/interop`` reads
the files, validates with the libraries of those formats, and sends the message.
"""
