"""Student tools: gradient checking (gradient_check), CIFAR-10 loading
(data_utils), the CIFAR-10 downloader (download_cifar10), plots
(vis_utils) and the check to run before handing in (`python -m utils.check`).
Import from the modules, e.g. `from utils.gradient_check import grad_check_sparse`."""

# The version of these tools: `python -m utils.check --version` prints it.
__version__ = "1.0.0"
