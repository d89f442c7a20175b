"""Load-generator processes and the pipe the orchestrator drives them through.

A worker is a spawned process running one asyncio loop; the orchestrator sends ``{"op": name, **args}``
and the worker answers with the return value of ``handler.op_<name>(**args)`` (or ``{"error": …}``).
"""
import asyncio
import gc
import multiprocessing
import os
import resource
import traceback


def serve(conn, handler):
    """Run ``handler``'s ops for commands arriving on ``conn`` until ``exit`` (or the pipe closes)."""
    raise_nofile()
    gc.set_threshold(100_000, 50, 100)  # fewer collector pauses inside measured windows
    asyncio.run(_serve(conn, handler))


async def _serve(conn, handler):
    loop = asyncio.get_running_loop()
    while True:
        try:
            command = await loop.run_in_executor(None, conn.recv)
        except (EOFError, OSError):
            return
        op = command.pop("op")
        if op == "exit":
            conn.send({})
            return
        try:
            result = await getattr(handler, "op_" + op)(**command)
        except Exception as error:
            result = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        conn.send(result)


def raise_nofile(want=65536):
    """Raise this process's open-file limit toward ``want``; return the (soft, hard) limits after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class WorkerError(RuntimeError):
    """A load-generator process failed a command."""


class Worker:
    """The orchestrator's handle on one load-generator process."""

    def __init__(self, target, name):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.name = name
        self.process = ctx.Process(target=target, args=(child,), name=name, daemon=True)
        self.process.start()
        child.close()

    @property
    def pid(self):
        return self.process.pid

    def send(self, op, **args):
        self.conn.send({"op": op, **args})

    def receive(self, timeout):
        if not self.conn.poll(timeout):
            raise WorkerError(f"{self.name}: no answer within {timeout:.0f} s")
        result = self.conn.recv()
        if isinstance(result, dict) and "error" in result:
            raise WorkerError(f"{self.name}: {result['error']}\n{result.get('traceback', '')}")
        return result

    def call(self, op, timeout=120, **args):
        self.send(op, **args)
        return self.receive(timeout)

    def stop(self):
        if self.process.is_alive():
            try:
                self.call("exit", timeout=5)
            except (WorkerError, OSError, EOFError):
                pass
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)


def call_all(workers, op, timeout=120, args_for=None, **args):
    """Send ``op`` to every worker at once (``args_for(i)`` adds per-worker args); return their answers."""
    for i, worker in enumerate(workers):
        worker.send(op, **args, **(args_for(i) if args_for else {}))
    return [worker.receive(timeout) for worker in workers]


def cpu_count():
    return os.cpu_count() or 1
