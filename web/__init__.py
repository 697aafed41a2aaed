"""The pages' templates and static files, installed as the package ``relay.web``
(pyproject.toml maps this folder there) and found with :mod:`importlib.resources`."""
