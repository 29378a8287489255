# Runs this etcd-ops module from the host's module cache in one round trip (Ansible's own path
# when the cache cannot serve). Every module's action plugin is this same shim; the logic is in
# plugin_utils/etcd_ops_module_cache.py, found relative to this file both beside the playbooks
# (playbooks/action_plugins/) and in the collection (plugins/action/).
from __future__ import annotations

import os
import sys

_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin_utils")
if _UTILS not in sys.path:
    sys.path.insert(0, _UTILS)

from etcd_ops_module_cache import CachedModuleAction as ActionModule  # noqa: E402,F401
