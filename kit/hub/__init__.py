"""A course on JupyterHub (`python -m kit hub`, `python -m kit hub-env`): see setup.py for
what is set up (plan.py its record, checks.py what it checks first, config_files.py the files
it writes), exchange.py for the exchange's guarantees, env.py for the environment."""
