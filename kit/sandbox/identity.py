"""Who a sandboxed kernel runs as: the isolation `Mode` and the sandbox's host uid/gid.

Inputs: the grader's own effective uid, and SANDBOX_UID/SANDBOX_GID (65534, "nobody").
Returns: the modes worth probing here, best first, and what each means in one phrase.
"""
import enum
import os

SANDBOX_UID = 65534
SANDBOX_GID = 65534


class Mode(enum.Enum):
    """How bubblewrap isolates a kernel (see docs/sandbox.md, "Who the kernel runs as").

    - UID: a root grader; the launcher drops to SANDBOX_UID before bwrap, which maps it
      to itself in an unprivileged user namespace (the strongest).
    - USER: a non-root grader; the kernel runs as the grader in a user namespace.
    - ROOT: root without unprivileged user namespaces (e.g. Ubuntu's AppArmor rule): bwrap
      runs as root, maps 0 to host 0 and drops every capability (weaker).
    """
    UID = "uid"
    USER = "user"
    ROOT = "root"

    @classmethod
    def candidates(cls):
        """The modes this process can try, strongest first."""
        return [cls.UID, cls.ROOT] if os.geteuid() == 0 else [cls.USER]

    @property
    def drops_to_sandbox_uid(self):
        """True when the kernel runs as SANDBOX_UID (which files must be lent to it)."""
        return self is Mode.UID

    def describe(self):
        """Who the kernel runs as, for isolation_status()'s reason."""
        if self is Mode.UID:
            return f"as uid {SANDBOX_UID} in an unprivileged user namespace"
        if self is Mode.USER:
            return f"as uid {os.getuid()} (the caller) in a user namespace"
        return ("as root in a user namespace with all capabilities dropped "
                "(weaker: unprivileged user namespaces are not allowed here)")
