"""Settings for benchmarks that run a real django-q2 cluster: the portal's own settings, tasks really queued.

A shorter task timeout and retry than production, so a run whose cluster is killed finishes within minutes: the
sweeper treats an order as orphaned `timeout + 30` seconds after its attempt started.
"""

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "timeout": 20, "retry": 30}
