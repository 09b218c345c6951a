"""The API's routes, one module per resource; :mod:`secureline.interfaces.api.app` composes them."""
