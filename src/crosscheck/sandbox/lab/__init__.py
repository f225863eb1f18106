"""A lab of real sshd hosts for tests and benchmarks: each host is an sshd alone in a
network namespace with its own address on a private bridge, reached from the test
process as a remote machine would be, and able to go down, lose its cable or change
its host key on demand.

    with Lab(Path(tempfile.mkdtemp(prefix="cxlab-")), 2) as lab:
        host = lab.hosts[0]   # host.address, host.known_hosts_line(), lab.client_key

Needs root and Linux network namespaces (require_lab says what is missing). Hosts
share the machine's filesystem, users and hostname; only the network is private, so
each host's builds belong in its own `work_root`.
"""

from crosscheck.sandbox.lab.errors import LabError
from crosscheck.sandbox.lab.hosts import LAB_USER, Lab, LabHost
from crosscheck.sandbox.lab.prerequisites import require_lab

__all__ = ["LAB_USER", "Lab", "LabError", "LabHost", "require_lab"]
