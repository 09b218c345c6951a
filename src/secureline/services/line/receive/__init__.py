"""The receiving side of the line, in stages, one module each (``../inbox.py`` runs them):

1. ``transaction``: the transaction id, its size and number of items (413
   ``batch_too_large``), its form, idempotence (the same (peer, txn_id) returns the stored
   answer; another body under a known id is 409 ``transaction_conflict``) and the link's
   agreement (409 ``agreement_mismatch``);
2. ``examine``: each envelope's signature, header (bounded where it is parsed:
   domain/limits.py), origin, path and time, then its content (decrypted when it is for
   this node). Each envelope is answered on its own: whatever goes wrong with one (a bug
   included) refuses it alone, with ``internal_error``;
3. ``decide``: the destination, the route and the rules of sharing;
4. ``commit``: one database transaction for the messages, mailboxes, relay queue, evidence,
   audit records and the signed answer, so that nothing is half-written and the answer can
   be replayed;
5. ``effects``: what each message's kind does (services/kinds/): checked while examined,
   applied inside the commit, and after it.

``state`` holds what the stages share: the receiver's collaborators and the envelopes of
one transaction on their way.
"""
