"""HTTP pieces shared by every web app below the composition roots: error bodies,
the storable-input guard, the access log, /metrics, the listening socket, and the
clients' reading of error answers."""
