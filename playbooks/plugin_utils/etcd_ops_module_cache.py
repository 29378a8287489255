# etcd-ops: run a binary module from a per-host, content-addressed cache in one round trip.
#
# Ansible runs a binary module in about seven round trips (home dir, mkdir, upload of the whole
# binary, upload of the args, chmod, exec, rm) and uploads the binary for every task. Every
# etcd-ops module has an action plugin (action_plugins/<module>.py here, plugins/action/ in the
# collection) that is only a shim over CachedModuleAction below, which instead:
#
#   1. runs one shell command on the host (as the task's become user) that finds the cache
#      directory, checks that nobody but that user (or root) can write it or any directory above
#      it, checks the cached binary's sha256 against the controller's copy and, when it matches,
#      runs it with the arguments on stdin (`--args-stdin`, ansible-module's entry point);
#   2. only when the binary is missing or does not match (a tampered or truncated file is removed
#      and never run), sends the arguments and then the binary on stdin of a second command that
#      stores it under its hash after checking the hash of what arrived, and runs it with those
#      arguments: a first use costs two round trips, not three. It goes gzip-compressed (level 1)
#      where the host has gzip: Ansible's ssh compresses with -C anyway, and a 7 MiB binary
#      costs it 0.33 s raw against 0.10 s pre-compressed (0.09 s more on the controller, once
#      per binary and run).
#
# Anything the cache cannot do falls back to Ansible's own path (ActionBase._execute_module, what
# ansible.builtin.normal runs): async (its wrapper needs the args file), ANSIBLE_KEEP_REMOTE_FILES,
# a connection without stdin for commands, a become method that needs a tty (and sudo under
# `Defaults requiretty`, found when it refuses, with a warning), a host without
# sha256sum, an untrusted, read-only or noexec cache directory (those three with a warning), and
# `etcd_ops_module_cache: false`. In check mode a binary that is not cached yet is run the plain
# way, so a dry run stores nothing on the host.
from __future__ import annotations

import fcntl
import gzip
import hashlib
import inspect
import json
import os
import re
import shlex

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

try:  # ansible-core >= 2.19 serialises module args through a profile's encoder
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # 2.16 - 2.18: plain json.dumps, as _execute_module did there
    Direction = get_module_encoder = None

display = Display()

# Variables (inventory, group_vars, -e): the switch and the directory. With no directory given,
# root keeps the cache in DEFAULT_ROOT_DIR and any other user under its home.
ENABLE_VAR = "etcd_ops_module_cache"
DIR_VAR = "etcd_ops_module_cache_dir"
DEFAULT_ROOT_DIR = "/var/cache/etcd-ops/modules"
DEFAULT_USER_DIR = ".cache/etcd-ops/modules"

# What the host-side script prints, alone on stdout, when it did not run the module.
MARKER = "ETCD_OPS_CACHE"

# What sudo says when `Defaults requiretty` (RHEL 6, early RHEL 7) refuses a command without a
# terminal. This path sends the arguments on stdin, so it has none; the plain path asks ssh for
# one (-tt) and still works there.
TTY_REFUSED = "must have a tty"

# Finds, creates (when $create is 1) and vets the cache directory; leaves its physical path in
# $p. A directory that another user could write, or any above it, would let that user swap the
# binary between the hash check and the exec, so the cache is refused there (not repaired).
_PRELUDE = r"""
umask 077
say() { printf '%s %s\n' __MARKER__ "$*"; exit 0; }
command -v sha256sum >/dev/null 2>&1 || say unusable "the host has no sha256sum"
u=$(id -u)
d=__DIR__
if [ -z "$d" ]; then
    if [ "$u" = 0 ]; then d=__ROOT_DIR__; else d=${HOME:-/nonexistent}/__USER_DIR__; fi
fi
case $d in /*) ;; *) say unusable "cache directory $d is not an absolute path" ;; esac
if [ ! -d "$d" ]; then
    [ __CREATE__ = 1 ] || say miss
    e=$(mkdir -p -m 0700 -- "$d" 2>&1) || say unusable "cannot create $d: $e"
fi
p=$(cd -P -- "$d" 2>&1 && pwd -P) || say unusable "cannot enter $d: $p"
set -- "$p"
q=$p
while [ "$q" != / ]; do q=${q%/*}; [ -n "$q" ] || q=/; set -- "$@" "$q"; done
s=$(stat -L -c '%u %a %n' -- "$@" 2>&1) || say unusable "cannot stat $p: $s"
first=1
while read -r o m n; do
    if [ $first = 1 ]; then
        [ "$o" = "$u" ] || say unusable "cache directory $n is owned by uid $o, not by uid $u"
        first=0
    fi
    [ "$o" = 0 ] || [ "$o" = "$u" ] || say unusable "$n (above the cache) is owned by uid $o"
    [ $((0$m & 022)) = 0 ] || say unusable "$n is writable by group or others (mode $m)"
done <<EOF
$s
EOF
f=$p/__FILE__
"""

# Running the checked binary $f, the arguments on its stdin (__FEED__ gives them, or the
# script's own stdin). rc 126 is the shell's "could not execute" (a noexec mount); the modules
# themselves exit 0 or 1.
_EXEC = r"""
__FEED__ __ENV__ "$f" --args-stdin
r=$?
[ $r != 126 ] || say noexec "$f could not be executed (a noexec mount?)"
exit $r
"""

# Step 1: check the cached binary and run it, arguments on stdin. A miss or mismatch says
# whether the host can take the upload gzip-compressed.
_RUN = r"""
gz() { command -v gzip >/dev/null 2>&1 && echo gzip; }
[ -f "$f" ] || say miss "$(gz)"
h=$(sha256sum < "$f" 2>&1) || say unusable "cannot read $f: $h"
h=${h%% *}
if [ "$h" != __SHA__ ]; then rm -f -- "$f"; say mismatch "$h" "$(gz)"; fi
""" + _EXEC

# Step 2: the arguments, one line (JSON has no raw newline), then the binary (through
# __DECODE__) on stdin: store the binary under its hash, atomically, once its hash is right (a
# stream cut short or corrupted is refused like a wrong binary), and run it. `read` takes the
# line byte by byte from the pipe, leaving the binary to what follows; the arguments stay in
# the shell (printf is a builtin), out of any process's command line.
_STORE = r"""
IFS= read -r a || say unusable "the arguments did not arrive"
t=$p/.part.$$
e=$(__DECODE__ > "$t" 2>&1) || { rm -f -- "$t"; say unusable "cannot store the upload in $t: $e"; }
h=$(sha256sum < "$t")
h=${h%% *}
[ "$h" = __SHA__ ] || { rm -f -- "$t"; say unusable "upload arrived with sha256 $h"; }
chmod 0700 "$t" && mv -f -- "$t" "$f" || { rm -f -- "$t"; say unusable "cannot store $f"; }
# Other versions of this module unchanged for a week go: a cache, not an archive of every build.
find "$p" -maxdepth 1 -type f -name '*-__LEAF__' ! -name "${f##*/}" -mtime +7 -exec rm -f {} + 2>/dev/null
""" + _EXEC


def _script(template, **values):
    # One pass, so a value (a path, the task's environment) is never substituted into again.
    return re.sub(r"__([A-Z_]+)__", lambda m: values[m.group(1).lower()], _PRELUDE + template)


def _gzipped(data, sha):
    """data gzip-compressed, made once per run and binary for every host: kept in Ansible's
    per-run local tmp dir (as its own AnsiballZ cache is), shared by the task forks. The forks
    of one task (one per host) wait on a lock for the first to compress, instead of each
    compressing the same 7 MiB on a controller that has fewer cores than hosts."""
    path = os.path.join(C.DEFAULT_LOCAL_TMP, "etcd-ops-module-%s.gz" % sha)
    try:
        lock = open(path + ".lock", "ab")
    except OSError:
        return gzip.compress(data, compresslevel=1, mtime=0)
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            pass
        packed = gzip.compress(data, compresslevel=1, mtime=0)
        part = "%s.%d" % (path, os.getpid())
        try:
            with open(part, "wb") as f:
                f.write(packed)
            os.replace(part, path)  # whole or absent, should the lock not hold
        except OSError:
            pass  # only a cache: the next upload compresses again
        return packed


class _Unusable(Exception):
    """The cache cannot serve this task; the message says why (shown as a warning)."""


class CachedModuleAction(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # no effect, as in ansible.builtin.normal
        task_vars = task_vars or {}
        warnings = []
        data = None
        reason = self._plain_reason(task_vars)
        if reason:
            display.vvv("etcd-ops module cache not used for %s: %s" % (self._task.action, reason))
        else:
            try:
                data = self._run_cached(task_vars, warnings)
            except _Unusable as e:
                warnings.append(
                    "etcd-ops module cache not used, running %s the plain way: %s"
                    % (self._task.action, e)
                )
        if data is None:
            data = self._run_plain(task_vars)
        if warnings:
            data["warnings"] = list(data.get("warnings") or []) + warnings
        return merge_hash(result, data)

    # -- choosing the path -------------------------------------------------------------------

    def _vars(self, task_vars):
        if self._task.delegate_to:
            return task_vars.get("ansible_delegated_vars", {}).get(self._task.delegate_to, task_vars)
        return task_vars

    def _setting(self, task_vars, name, default):
        value = self._vars(task_vars).get(name, task_vars.get(name, default))
        return self._templar.template(value)

    def _plain_reason(self, task_vars):
        """Why this task must take Ansible's own path, silently; None when the cache may serve."""
        if not boolean(self._setting(task_vars, ENABLE_VAR, True), strict=False):
            return "%s is false" % ENABLE_VAR
        if self._task.async_val:
            return "async runs through Ansible's wrapper, which needs the args file"
        if C.DEFAULT_KEEP_REMOTE_FILES:
            return "ANSIBLE_KEEP_REMOTE_FILES keeps the plain path's files for debugging"
        if not self._connection.has_pipelining:
            return "the connection cannot pass stdin to a command"
        if getattr(self._connection._shell, "_IS_WINDOWS", False):
            return "not a POSIX shell"
        become = self._connection.become
        if become is not None and not getattr(become, "pipelining", True):
            return "become method %s needs a tty" % become.name
        return None

    # -- the plain path: exactly ansible.builtin.normal -----------------------------------------

    def _run_plain(self, task_vars):
        wrap_async = self._task.async_val and not self._connection.has_native_async
        data = self._execute_module(task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return data

    # -- the cached path ---------------------------------------------------------------------

    def _run_cached(self, task_vars, warnings):
        """The module's result, or None to run it the plain way (check mode, nothing cached)."""
        module_name = self._task.action
        module_args = dict(self._task.args)
        self._update_module_args(module_name, module_args, task_vars)
        built = self._configure_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
        if len(built) == 2:  # 2.19+: (_BuiltModule, path)
            bits, module_path = built
            style, data, profile = bits.module_style, bits.b_module_data, bits.serialization_profile
        else:  # 2.16 - 2.18: (style, shebang, data, path)
            style, _shebang, data, module_path = built
            profile = None
        display.vvv("Using module file %s" % module_path)  # as _execute_module says it
        if style != "binary":
            raise _Unusable("%s is not a binary module" % module_path)
        sha = hashlib.sha256(data).hexdigest()
        leaf = module_path.rsplit("/", 1)[-1]
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", leaf):  # it goes into the script unquoted
            raise _Unusable("module file name %r" % leaf)
        directory = self._setting(task_vars, DIR_VAR, "") or ""
        common = dict(
            marker=MARKER,
            dir=shlex.quote(str(directory)),
            root_dir=DEFAULT_ROOT_DIR,
            user_dir=DEFAULT_USER_DIR,
            file="%s-%s" % (sha, leaf),
            leaf=leaf,
            sha=sha,
        )
        env = self._compute_environment_string()
        run = _script(_RUN, create="0" if self._task.check_mode else "1", env=env, feed="", **common)
        if profile is not None and get_module_encoder is not None:
            args = json.dumps(module_args, cls=get_module_encoder(profile, Direction.CONTROLLER_TO_MODULE))
        else:
            args = json.dumps(module_args)

        self._used_interpreter = None
        res = self._low_level_execute_command(run, sudoable=True, in_data=args.encode("utf-8"))
        self._refuse_tty_required(res)
        state, detail = self._marker(res)
        if state in ("miss", "mismatch"):
            words = detail.split()
            compress = words[-1:] == ["gzip"]
            if state == "mismatch":
                warnings.append(
                    "etcd-ops module cache: the cached %s had sha256 %s, not %s: removed, not run, "
                    "uploaded again" % (leaf, words[0] if words else "?", sha)
                )
            if self._task.check_mode:
                display.vvv("etcd-ops module cache: %s not cached; check mode stores nothing" % leaf)
                return None
            if "\n" in args:  # json.dumps without indent never writes one
                raise _Unusable("the module arguments span lines")
            payload = _gzipped(data, sha) if compress else data
            display.vvv(
                "etcd-ops module cache: uploading %s (%d bytes, sha256 %s; %d bytes sent%s)"
                % (leaf, len(data), sha, len(payload), ", gzip" if compress else "")
            )
            store = _script(_STORE, create="1", decode="gzip -dc" if compress else "cat", env=env,
                            feed="""printf '%s\\n' "$a" |""", **common)
            res = self._low_level_execute_command(
                store, sudoable=True, in_data=args.encode("utf-8") + b"\n" + payload
            )
            state, detail = self._marker(res)
        if state is not None:
            raise _Unusable(detail or state)
        display.vvv("etcd-ops module cache: ran %s from the cache" % leaf)
        return self._result(res, profile)

    def _refuse_tty_required(self, res):
        """Raises _Unusable when become refused to run the script for want of a terminal."""
        if res.get("rc") and self._connection.become is not None and TTY_REFUSED in (res.get("stderr") or ""):
            raise _Unusable(
                "become (%s) needs a terminal on this host (Defaults requiretty): %s"
                % (self._connection.become.name, (res.get("stderr") or "").strip()[-200:])
            )

    def _marker(self, res):
        """(state, detail) when the host script said why it did not run the module, else (None, None)."""
        out = (res.get("stdout") or "").strip()
        if out.startswith(MARKER + " ") and "\n" not in out:
            parts = out.split(" ", 2)
            return parts[1], parts[2] if len(parts) > 2 else ""
        return None, None

    _PARSE_TAKES_PROFILE = None

    def _result(self, res, profile):
        """What _execute_module makes of the module's output, for the same output."""
        cls = type(self)
        if cls._PARSE_TAKES_PROFILE is None:
            cls._PARSE_TAKES_PROFILE = len(inspect.signature(ActionBase._parse_returned_data).parameters) > 2
        if cls._PARSE_TAKES_PROFILE:
            data = self._parse_returned_data(res, profile)
        else:
            data = self._parse_returned_data(res)
        if data.pop("_ansible_suppress_tmpdir_delete", False):
            self._cleanup_remote_tmp = False
        remove_internal_keys(data)
        for key in ("stdout", "stderr"):
            if key in data and key + "_lines" not in data:
                data[key + "_lines"] = (data.get(key) or "").splitlines()
        return data
