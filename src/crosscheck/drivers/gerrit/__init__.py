"""The Gerrit driver: REST client, and a local sandbox Gerrit for trying crosscheck."""
