"""Running cells in a sandboxed kernel with nbclient, for the sandbox tests."""
import asyncio

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError


def run_cells(km, sources, timeout=20, env=None, before_cell=None):
    """Execute code cells in one kernel, then shut it down.

    Inputs:
    - km: an unstarted sandboxed kernel manager.
    - sources: list of cell sources.
    - before_cell: optional function(index, client) called before each cell; it may
      return False to stop (used to check km.enforcement before dangerous cells).
    Returns (cells, error): the executed cells and the DeadKernelError, if any.
    """
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                            kernel_name="python3", interrupt_on_timeout=True)

    async def go():
        kwargs = {"env": env} if env is not None else {}
        try:
            async with client.async_setup_kernel(cleanup_kc=True, **kwargs):
                for index, cell in enumerate(nb.cells):
                    if before_cell is not None and before_cell(index, client) is False:
                        break
                    await client.async_execute_cell(cell, index)
        except DeadKernelError as err:
            return err
        return None
    error = asyncio.run(go())
    return nb.cells, error


def stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
