"""The desk's working views beyond the lists and compose (issue 15): a message and what may be
done with it, threads, alerts under review, permissions, retention and the live fragments.

Each module is one area and gives its routes; ``pages.py`` mounts them all. Every rule is the
services' (the same calls the API makes): a view reads the form, calls one service and shapes
the page, showing a refusal in the service's own words.
"""
