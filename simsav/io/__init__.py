"""Files: CMS public-use files and their replication."""
