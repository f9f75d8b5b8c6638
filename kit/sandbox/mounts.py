"""Host paths a sandbox shows, and who may reach or own them.

Inputs: the running Python installation, the host's /usr, /etc and root links, uids.
Returns: the read-only folders Python needs, the system mounts every sandbox makes,
path predicates (inside, outermost, reachable, blocked_ancestor) and chown_tree, which
lends a folder to the sandbox uid and gives it back.
"""
import os
import site
import stat
import sys

from .cgroups import read_text

ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "fonts")
ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # bound, or linked into /usr


def inside(path, folder):
    """True when `path` is `folder` or below it (both absolute, normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def outermost(paths):
    """The paths not inside another of them, shortest first."""
    result = []
    for path in sorted(set(paths), key=len):
        if not any(inside(path, kept) for kept in result):
            result.append(path)
    return result


def python_paths():
    """Folders the kernel's Python needs, read-only: prefixes, site dirs, .pth targets."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    sites = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        sites.append(site.getusersitepackages())
    for folder in sites:
        if not os.path.isdir(folder):
            continue
        paths.add(os.path.realpath(folder))
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".pth"):
                continue
            for line in read_text(os.path.join(folder, name)).splitlines():
                line = line.strip()
                if line.startswith("/") and not line.startswith("import") and os.path.isdir(line):
                    paths.add(os.path.realpath(line))
    return outermost(p for p in paths if not inside(p, "/usr"))


def system_mounts(etc_dir):
    """The host system every sandbox shows, as (option, source, destination): /usr, the
    /bin and /lib* folders (or their links into /usr), the /etc files taken from the host
    and those generated for the sandbox in etc_dir."""
    mounts = [("--ro-bind", "/usr", "/usr")]
    for name in ROOT_LINKS:
        path = "/" + name
        if os.path.islink(path):
            mounts.append(("--symlink", os.readlink(path), path))
        elif os.path.isdir(path):
            mounts.append(("--ro-bind", path, path))
    generated = sorted(os.listdir(etc_dir)) if etc_dir and os.path.isdir(etc_dir) else []
    mounts += [("--ro-bind-try", "/etc/" + name, "/etc/" + name)
               for name in ETC_FILES if name not in generated]
    mounts += [("--ro-bind", os.path.join(etc_dir, name), "/etc/" + name) for name in generated]
    return mounts


def system_binds(etc_dir):
    """The host paths system_mounts shows at their own path (links and absent files left out)."""
    return [dest for option, src, dest in system_mounts(etc_dir)
            if option != "--symlink" and src == dest
            and os.path.exists(src) and not os.path.islink(src)]


def can_traverse(st, uid, gid):
    """May uid/gid (no supplementary groups) search the folder whose stat is `st`?"""
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def reachable(path, top, uid, gid):
    """Can uid/gid walk from folder `top` down to `path`?"""
    if path == top:
        return True
    current = top
    for part in [""] + path[len(top):].strip("/").split("/")[:-1]:
        current = os.path.join(current, part) if part else current
        try:
            if not can_traverse(os.stat(current), uid, gid):
                return False
        except OSError:
            return False
    return True


def blocked_ancestor(path, uid, gid):
    """The outermost ancestor of `path` that uid/gid cannot traverse, or None."""
    current = "/"
    for part in path.strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        if not can_traverse(os.stat(current), uid, gid):
            return current
    return None


def chown_tree(top, uid, gid, strip_setid=False):
    """lchown top and everything below it; symlinks are never followed.

    strip_setid also clears set-uid/set-gid bits of regular files (when handing files
    written by the sandbox back to their owner).
    """
    paths = [top]
    for folder, dirs, files in os.walk(top, followlinks=False):
        paths.extend(os.path.join(folder, name) for name in dirs + files)
    for path in paths:
        try:
            os.chown(path, uid, gid, follow_symlinks=False)
            if strip_setid:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    os.chmod(path, stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
        except FileNotFoundError:
            pass  # removed while we walked: nothing to own
