"""The desk: the web pages officers work in, served by the node under ``/desk``."""
