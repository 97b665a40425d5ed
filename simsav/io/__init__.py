"""Files: CMS public-use files (their replication is :mod:`simsav.analysis.replicate`)."""
