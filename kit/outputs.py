"""Bounded outputs: what a kernel running student code can make the grader hold.

A student's code can print gigabytes in one cell, open widgets whose outputs pile up,
or send a single message of hundreds of megabytes. Everything it sends is untrusted data,
so the grading process keeps a bounded amount of it, whatever the kernel does:
- one message: at most MAX_MESSAGE_BYTES. ZeroMQ drops the connection of a peer whose
  message is larger (ZMQ_MAXMSGSIZE, set on every socket of `BoundedKernelClient`), so
  such a message never reaches Python. ZeroMQ counts it a protocol error and does not
  reconnect: every later output of that kernel would be lost, and each later cell would
  wait nbclient's `iopub_timeout` for a status that never comes. So the client watches
  its output socket (`output_lost`), and the grader stops a kernel whose output
  connection was dropped (kit/autograde/runner.py): the cell fails, naming the limit, and
  a fresh kernel runs the cells after it;
- one cell: at most CELL_OUTPUT_BYTES of outputs and CELL_OUTPUTS outputs (consecutive
  stream text is merged into one output); one notebook: NOTEBOOK_OUTPUT_BYTES. Past a
  limit, further output is dropped and one note says so, as nbgrader's LimitOutput does;
- error outputs are always kept (they decide a test cell's score) but cut to
  ERROR_TEXT_CHARS per field and ERROR_TRACEBACK_LINES lines;
- widget (comm) messages and in-place display updates are ignored: a grader needs neither.
"""
import contextlib
import json

import zmq
from zmq.utils.monitor import parse_monitor_message
from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient
from traitlets import default

MiB = 1 << 20
MAX_MESSAGE_BYTES = 32 * MiB        # a CIFAR-10 weight plot is ~0.1 MiB of PNG
CELL_OUTPUT_BYTES = 4 * MiB
CELL_OUTPUTS = 500
NOTEBOOK_OUTPUT_BYTES = 24 * MiB
ERROR_TEXT_CHARS = 4000
ERROR_TRACEBACK_LINES = 60
CELL_ERRORS = 5                     # one decides the score; more are kept only within budget
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


def _bounded_context(parent_default):
    context = parent_default()
    # Default options of every socket this context makes from now on (pyzmq).
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    return context


class BoundedKernelClient(AsyncKernelClient):
    """An AsyncKernelClient whose sockets refuse messages over MAX_MESSAGE_BYTES, and which
    tells when its output (IOPub) connection has been dropped (`output_lost`)."""

    @default("context")
    def _context_default(self):
        return _bounded_context(super()._context_default)

    def start_channels(self, *args, **kwargs):
        super().start_channels(*args, **kwargs)
        # A monitor of the output socket's disconnections, read without waiting.
        self._monitor_socket = self.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        # The monitor is an asyncio socket; a plain view of it polls and reads at once.
        self._output_monitor = zmq.Socket.shadow(self._monitor_socket.underlying)
        self._output_dropped = False

    def output_lost(self):
        """Whether the kernel's output connection has been dropped since the channels
        started (a message over MAX_MESSAGE_BYTES, or the kernel gone)."""
        monitor = getattr(self, "_output_monitor", None)
        while monitor is not None and not self._output_dropped and monitor.poll(0):
            event = parse_monitor_message(monitor.recv_multipart())
            self._output_dropped = event["event"] == zmq.EVENT_DISCONNECTED
        return getattr(self, "_output_dropped", False)

    def stop_channels(self):
        if getattr(self, "_output_monitor", None) is not None:
            self._output_monitor = None
            with contextlib.suppress(zmq.ZMQError):
                self.iopub_channel.socket.disable_monitor()
            self._monitor_socket.close(linger=0)
        super().stop_channels()


def message_size(content):
    """Roughly how many bytes an output message's content holds: every field that can end
    up in the notebook (text, data, metadata, an error's fields), whatever the type says."""
    size = 0
    for key in ("text", "data", "metadata", "ename", "evalue", "traceback"):
        value = content.get(key)
        if isinstance(value, str):
            size += len(value)
        elif value:
            size += len(json.dumps(value, default=str))
    return size


def cut(text, limit=ERROR_TEXT_CHARS):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} characters cut]"


def bounded_error(content):
    """An error message's content with every field cut to size."""
    traceback = [cut(line) for line in (content.get("traceback") or [])[-ERROR_TRACEBACK_LINES:]]
    return {**content, "ename": cut(content.get("ename", "Error"), 200),
            "evalue": cut(content.get("evalue", "")), "traceback": traceback}


class BoundedNotebookClient(NotebookClient):
    """An nbclient NotebookClient that keeps at most the limits above of what kernels send."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notebook_bytes = 0
        self._cell_bytes = {}  # cell index -> bytes kept
        self._truncated = set()

    def process_message(self, msg, cell, cell_index):
        msg_type = msg.get("msg_type", "")
        content = msg.get("content") or {}
        if msg_type.startswith("comm") or msg_type == "update_display_data":
            return None
        if content.get("transient"):
            # display_id bookkeeping would let later messages rewrite kept outputs.
            msg = {**msg, "content": {k: v for k, v in content.items() if k != "transient"}}
            content = msg["content"]
        if msg_type == "error":
            msg = {**msg, "content": bounded_error(content)}
            # An error always counts (it decides a test cell's score), within a few per cell.
            errors = sum(1 for o in cell.outputs if o.get("output_type") == "error")
            if errors >= CELL_ERRORS or (errors and not self._room_for(
                    cell, cell_index, message_size(msg["content"]))):
                return None
        elif msg_type in OUTPUT_TYPES:
            if not self._room_for(cell, cell_index, message_size(content)):
                return None
            if msg_type == "stream" and self._merge_stream(cell, content):
                return None
        return super().process_message(msg, cell, cell_index)

    def _room_for(self, cell, cell_index, size):
        used = self._cell_bytes.get(cell_index, 0)
        over = (used + size > CELL_OUTPUT_BYTES or len(cell.outputs) >= CELL_OUTPUTS
                or self.notebook_bytes + size > NOTEBOOK_OUTPUT_BYTES)
        if over:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                cell.outputs.append(truncation_note())
            return False
        self._cell_bytes[cell_index] = used + size
        self.notebook_bytes += size
        return True

    @staticmethod
    def _merge_stream(cell, content):
        """Append stream text to the cell's last output when it is the same stream."""
        last = cell.outputs[-1] if cell.outputs else None
        if last is not None and last.get("output_type") == "stream" and \
                last.get("name") == content.get("name"):
            last["text"] += content.get("text", "")
            return True
        return False


def truncation_note():
    from nbformat.v4 import new_output
    return new_output("stream", name="stderr", text=(
        f"\n[the grader kept only part of this cell's output: at most {CELL_OUTPUT_BYTES // MiB} MiB "
        f"and {CELL_OUTPUTS} outputs per cell, {NOTEBOOK_OUTPUT_BYTES // MiB} MiB per notebook; "
        "the rest was dropped]\n"))
