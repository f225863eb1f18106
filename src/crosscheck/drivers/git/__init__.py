"""Plain git remotes (upstreams not on Gerrit): the commit a branch or tag names."""
