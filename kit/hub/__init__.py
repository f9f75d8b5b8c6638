"""A course on JupyterHub (`python -m kit hub`, `python -m kit hub-env`): see setup.py for
what is set up, exchange.py for the exchange's guarantees, env.py for the environment."""
