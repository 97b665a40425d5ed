"""Collection settings for the whole repository."""

# Imported by the app's fork server alone: importing it runs the worker's warm-up.
collect_ignore = ["simsav/app/_forkserver.py"]
