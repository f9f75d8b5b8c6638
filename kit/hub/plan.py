"""What `python -m kit hub` sets up, as one plain record (`HubPlan`: the course, the hub's
folder, the exchange, the accounts, the ports), and the problem it raises, listing each
thing that stops it with its fix (`HubProblem`). kit/hub/setup.py describes the hub."""
from dataclasses import dataclass, field
from pathlib import Path

from ..course import KitError

DEFAULT_HUB_DIR = Path("/srv/kit-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
DEFAULT_PORT = 8000
GRADERS_GROUP = "formgrade-{course_id}"
STUDENTS_GROUP = "nbgrader-{course_id}"
PROXY = "configurable-http-proxy"


class HubProblem(KitError):
    """Problems found before anything was changed; the message lists each with its fix."""


@dataclass
class HubPlan:
    course: Path
    course_id: str
    hub_dir: Path
    exchange: Path
    python: Path
    grader_account: str
    instructors: list
    graders: list
    students: list
    ip: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    service_port: int = 0
    hub_port: int = 0
    proxy_api_port: int = 0
    auth: str = "pam"
    password_file: Path = None
    data: Path = None          # CIFAR-10 for the students' servers (their CIFAR10_DIR)
    problems: list = field(default_factory=list)

    @property
    def staff(self):
        return sorted(set(self.instructors) | set(self.graders))

    @property
    def users(self):
        return sorted(set(self.staff) | set(self.students))

    @property
    def config_path(self):
        return self.hub_dir / "jupyterhub_config.py"

    @property
    def private(self):
        return self.hub_dir / "private"

    @property
    def students_dir(self):
        return self.hub_dir / "students"

    @property
    def graders_dir(self):
        return self.hub_dir / "graders"

    @property
    def service_url(self):
        return "http://127.0.0.1:%d" % self.service_port

    @property
    def env_bin(self):
        return self.python.parent
