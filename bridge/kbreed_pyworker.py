#!/usr/bin/env python3
"""kbreed_pyworker.py - the worker that judges a Python solution.

Pipeline position: evaluate, beside the GPU worker (worker/worker.c). kbreed
judges a KernelBench-style solution (`class ModelNew(nn.Module)`, as written
by KernelBench, CRFM, and `kbreed export`) under the rules it applies to a
.cu candidate (docs/EVALUATION.md, "Python solutions"). src/evaluate.c starts
this program instead of kbreed-worker, in the same sandbox (src/sandbox.c:
its own network, process and mount namespaces, the reference directory
covered, the unprivileged user when kbreed is root, a clean environment) and
talks to it in the same protocol (include/kbreed_worker_protocol.h, version
3, docs/WORKER.md):

    PYTHON kbreed_pyworker.py JOB --problem fd:N --problem-name NAME --seed S

JOB is the job file kbreed writes for kbreed-worker: the reference *inputs*
and the problem's parameters as inherited descriptors, never the reference
outputs, which stay in kbreed's process. --problem is the problem file's
text, also as a descriptor (the worker may not be able to open it by path),
needed for get_init_inputs(); --seed is the seed the reference Model was
built under.

On "eval SOLUTION.py<TAB>OUTDIR" it imports the solution (a load_inline in
it compiles now, into OUTDIR), builds ModelNew(*get_init_inputs()) under
torch.manual_seed(seed) as the bridge builds Model, loads the problem's
parameters into it when its parameters and buffers match the problem's in
order, shape and dtype (else it keeps its own, seeded as KernelBench does),
and makes the calls kbreed-worker makes: warm-up and timed calls on contents
never seen (a random set, rotated), each set's first sight at a random place
among the timed calls (inputs and parameters checked byte for byte, outputs
saved), then a check call per set. Every call is bracketed by CUDA events on
the current stream and a host clock that stops after a device-wide
synchronisation; as it returns, the threads and signal handlers of the
process are compared with those from before the first call. The outputs a
call returned are filled with all bits set before they are dropped, so that
memory PyTorch's allocator hands out next holds the poison. kbreed compares
the saved outputs with the references and gives the verdict.

One solution per process: Python cannot unload a module, so kbreed starts a
fresh worker for every solution and a second "eval" is refused.

KBREED_PYWORKER_CPU=1 runs on the CPU, for tests on machines without a GPU
only: the times are then host clocks of CPU calls and mean nothing for a GPU.

Replies go on the descriptor that was stdout at start; stdout is pointed at
stderr (kbreed's log of the worker), so that what a solution prints never
reads as a reply. Exit codes are kbreed-worker's.
"""

import os
import sys

PROTOCOL = 4                 # KBREED_WORKER_PROTOCOL
EXIT_NO_GPU = 2              # KBW_EXIT_NO_GPU: no CUDA (or no torch)
EXIT_CUDA = 3                # KBW_EXIT_CUDA: a CUDA error; the context cannot be trusted
EXIT_JOB = 4                 # KBW_EXIT_JOB: bad usage, a bad job, unreadable data
EXIT_VERSION = 5             # KBW_EXIT_VERSION
MAX_TENSORS = 64             # KBW_MAX_TENSORS
MAX_SETS = 32                # KBW_MAX_SETS
MAX_PATH = 4096              # KBW_MAX_PATH
MAX_LINE = 8192              # KBW_MAX_LINE
MAX_DIMS = 8                 # KBREED_MAX_DIMS
TAIL_MS = 0.02               # KBW_TAIL_MS: device work left after the stream finished
TAIL_FLOOR_CALLS = 20        # calls of one tiny kernel, timed for the tail's floor
KINDS = ("input", "param", "output")
# enum kb_dtype, in order: the torch dtype's name and its bytes per element.
DTYPES = (("float32", 4), ("float16", 2), ("bfloat16", 2), ("float64", 8),
          ("int32", 4), ("int64", 8), ("bool", 1))

torch = None                 # imported after the job is read


class JobError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------
# the protocol: the job file and the reply lines, as worker/worker_protocol.c
# reads and writes them (tests/cli/test_pyeval.sh runs this against kbreed's
# own encoder and decoder)
# ---------------------------------------------------------------------------


def _int(text):
    """A decimal integer as sscanf's %d reads it, whole; ValueError otherwise."""
    if not text or not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
        raise ValueError(text)
    return int(text)


def read_job(path):
    """The job as a dict, checked as kbw_job_read checks it; JobError otherwise."""
    try:
        if path.startswith("fd:"):
            f = os.fdopen(_int(path[3:]), "r")
        else:
            f = open(path, "r")
        with f:
            lines = f.read().split("\n")
    except (OSError, ValueError) as e:
        raise JobError(EXIT_JOB, "cannot open job %s: %s" % (path, e))
    job = {"version": None, "tensors": []}
    seen = {}
    for lineno, line in enumerate(lines, 1):
        if not line:
            continue
        if job["version"] is None:
            words = line.split(" ")
            try:
                if len(words) != 2 or words[0] != "kbreed-job":
                    raise ValueError(line)
                job["version"] = _int(words[1])
            except ValueError:
                raise JobError(EXIT_JOB, "%s is not a kbreed job file" % path)
            if job["version"] != PROTOCOL:
                raise JobError(EXIT_VERSION, "%s: protocol version mismatch: the job file speaks worker "
                               "protocol version %d, this worker speaks %d; build kbreed and its workers "
                               "from the same checkout (make)" % (path, job["version"], PROTOCOL))
            continue
        words = line.split(" ")
        where = "%s, line %d" % (path, lineno)
        if words[0] in ("sets", "timed_sets", "warmup", "reps", "flush_mb") and len(words) == 2 \
                and words[0] not in seen:
            try:
                seen[words[0]] = _int(words[1])
            except ValueError:
                raise JobError(EXIT_JOB, "%s: unknown or repeated job line: %.200s" % (where, line))
            continue
        if words[0] != "tensor":
            raise JobError(EXIT_JOB, "%s: unknown or repeated job line: %.200s" % (where, line))
        job["tensors"].append(_parse_tensor(words, line, where, job["tensors"]))
    if job["version"] is None:
        raise JobError(EXIT_JOB, "%s is empty" % path)
    for k in ("sets", "warmup", "reps", "flush_mb"):
        job[k] = seen.get(k, 0)
    # The first timed_sets sets feed the warm-up and timed calls; the others
    # (stressed sets) are checked only. Absent: all of them.
    job["timed_sets"] = seen.get("timed_sets", job["sets"])
    count = {k: 0 for k in KINDS}
    for t in job["tensors"]:
        count[t["kind"]] = max(count[t["kind"]], t["index"] + 1)
    job["n_inputs"], job["n_params"], job["n_outputs"] = count["input"], count["param"], count["output"]
    want = job["sets"] * job["n_inputs"] + job["n_params"] + job["n_outputs"]
    if not 1 <= job["sets"] <= MAX_SETS or not 1 <= job["timed_sets"] <= job["sets"] or job["reps"] < 1 or job["warmup"] < 0 or job["flush_mb"] < 0 \
            or job["n_outputs"] < 1 or len(job["tensors"]) != want:
        raise JobError(EXIT_JOB, "job %s is incomplete or out of range" % path)
    for t in job["tensors"]:
        if t["kind"] == "input" and t["set"] >= job["sets"]:
            raise JobError(EXIT_JOB, "job %s: an input of set %d, but %d sets" % (path, t["set"], job["sets"]))
    return job


def _parse_tensor(words, line, where, have):
    """One "tensor kind set index dtype ndim d0 .. source" line."""
    try:
        kind = words[1]
        if kind not in KINDS:
            raise JobError(EXIT_JOB, "%s: unknown tensor kind: %.200s" % (where, line))
        tset, index, dtype, ndim = (_int(w) for w in words[2:6])
    except (IndexError, ValueError):
        raise JobError(EXIT_JOB, "%s: bad tensor line: %.200s" % (where, line))
    if not 0 <= index < MAX_TENSORS or not 0 <= ndim <= MAX_DIMS or not 0 <= dtype < len(DTYPES) or \
            (not 0 <= tset < MAX_SETS if kind == "input" else tset != -1):
        raise JobError(EXIT_JOB, "%s: tensor line out of range: %.200s" % (where, line))
    if len(words) != 7 + ndim:
        raise JobError(EXIT_JOB, "%s: bad tensor line: %.200s" % (where, line))
    try:
        shape = [_int(w) for w in words[6:6 + ndim]]
    except ValueError:
        raise JobError(EXIT_JOB, "%s: bad shape: %.200s" % (where, line))
    if any(d < 0 for d in shape):
        raise JobError(EXIT_JOB, "%s: bad shape: %.200s" % (where, line))
    source = words[-1]
    if not source or (source == "-") != (kind == "output") or len(source) >= MAX_PATH:
        raise JobError(EXIT_JOB, "%s: bad tensor source: %.200s" % (where, line))
    for t in have:
        if (t["kind"], t["set"], t["index"]) == (kind, tset, index):
            raise JobError(EXIT_JOB, "%s: tensor given twice: %.200s" % (where, line))
    return {"kind": kind, "set": tset, "index": index, "dtype": dtype, "shape": shape,
            "source": None if source == "-" else source}


def _message(prefix, text):
    """"<prefix> <text>\\n" on one line, cut with "..." to fit MAX_LINE bytes."""
    text = str(text).replace("\n", " ").replace("\r", " ").encode("utf-8", "replace")
    room = MAX_LINE - len(prefix) - 3
    if len(text) > room:
        text = text[:room - 3] + b"..."
    return prefix.encode() + b" " + text + b"\n"


class Replies:
    """The reply channel: the descriptor that was stdout at start. stdout
    itself then points at stderr, so that prints never read as replies."""

    def __init__(self):
        sys.stdout.flush()
        self.fd = os.dup(1)
        os.set_inheritable(self.fd, False)
        os.dup2(2, 1)

    def _send(self, data):
        while data:
            data = data[os.write(self.fd, data):]

    def line(self, text):
        self._send((text + "\n").encode())

    def error(self, text):
        self._send(_message("error", text))

    def fault(self, cls, text):
        self._send(_message("fault " + cls, text))

    def end(self, ok):
        self.line("end ok" if ok else "end fault")


def _log(msg):
    print("kbreed_pyworker: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# what the process looks like: threads and signal handlers
# ---------------------------------------------------------------------------


def _threads():
    """{tid: name} of this process's threads."""
    found = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/comm" % tid) as f:
                found[tid] = f.read().strip()
        except OSError:
            found[tid] = "?"
    return found


def _caught_signals():
    """The mask of signals with a handler (SigCgt), as the kernel sees it:
    C handlers and Python's alike."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _python_handlers(signal):
    out = {}
    for sig in signal.valid_signals():
        try:
            out[sig] = signal.getsignal(sig)
        except (ValueError, OSError):
            pass
    return out


class Baseline:
    """Threads and handlers from before the first call of the solution."""

    def __init__(self):
        import signal
        self.signal = signal
        self.threads = set(_threads())
        self.caught = _caught_signals()
        self.handlers = _python_handlers(signal)

    def new_threads(self):
        """[(tid, name)] of running threads that are not in the baseline and
        are not the CUDA driver's (named cuda...)."""
        return [(t, n) for t, n in _threads().items() if t not in self.threads and not n.startswith("cuda")]

    def broken(self):
        """Why the solution left something running that can work after the
        call returned, or None."""
        left = self.new_threads()
        if left:
            return ("ModelNew.forward returned with threads of the solution still running (%s): work "
                    "they do after the call escapes the timer"
                    % ", ".join('thread %s "%s"' % tn for tn in left[:8]))
        added = _caught_signals() & ~self.caught
        if added:
            sig = (added & -added).bit_length()
            return ("the solution installed a handler for signal %d (%s): work it does after the call "
                    "escapes the timer" % (sig, self.signal.strsignal(sig) or "?"))
        now = _python_handlers(self.signal)
        for sig, h in now.items():
            if self.handlers.get(sig) is not h:
                return ("the solution installed a Python handler for signal %d (%s): work it does after "
                        "the call escapes the timer" % (sig, self.signal.strsignal(sig) or "?"))
        return None


# ---------------------------------------------------------------------------
# the timing of one call, and the tail: device work past the stream's end
# ---------------------------------------------------------------------------


def bracketed(fn, timers, baseline):
    """fn() bracketed as every call of a solution on the GPU is: CUDA events
    on the current stream around it, and a host clock that stops after a
    device-wide synchronisation. Returns (result, event_ms, host_ms, tail_ms,
    why): tail_ms is how long the device still worked after the current
    stream had finished (work on other streams), why is baseline.broken()."""
    import time
    start, stop, synchronize = timers
    t0 = time.perf_counter()
    start.record()
    out = fn()
    stop.record()
    # The tail first (as the C worker): the look at threads and handlers
    # takes about 0.2 ms in Python, long enough for a hidden kernel to end
    # unseen; the second wait finds work a thread launched meanwhile.
    stop.synchronize()
    ts = time.perf_counter()
    synchronize()
    t1 = time.perf_counter()
    why = baseline.broken()
    w1 = time.perf_counter()
    synchronize()
    t2 = time.perf_counter()
    tail_ms = max(t1 - ts, t2 - w1) * 1e3
    # The look at threads and handlers is the judge's own work: not the
    # solution's time.
    host_ms = (t1 - t0 + t2 - w1) * 1e3
    return out, start.elapsed_time(stop), host_ms, tail_ms, why


def tail_floor(timers, baseline, fn, calls=TAIL_FLOOR_CALLS):
    """The tail (ms) an honest call shows: the median of the tails of
    `calls` calls of fn, a call with a little work on the current stream and
    none elsewhere, each bracketed as a solution's call is.

    In C the waits past the stream's end take microseconds on an idle
    device; in Python, torch.cuda.synchronize() and the perf_counter()
    calls around it take about as long as KBW_TAIL_MS itself (0.026 ms for
    an honest GELU on the H200), so the Python worker judges the tail above
    this floor. The median, as the verdict takes the median of the timed
    calls' tails: like against like, and TAIL_MS stays the margin for what
    differs between those calls and a solution's. A p90 would let a few
    slow samples (the host thread preempted while calibrating) widen what
    hidden work goes unseen; the median ignores up to half of them."""
    tails = []
    for _ in range(calls):
        timers[2]()
        tails.append(bracketed(fn, timers, baseline)[3])
    return median(tails)


def median(values):
    """The median of a list of numbers; 0.0 for none."""
    v, n = sorted(values), len(values)
    return (v[(n - 1) // 2] + v[n // 2]) / 2 if n else 0.0


def tail_fault(median_tail_ms, floor_ms):
    """Why the timed calls show work that escaped the events, or None: when
    the median of their tails exceeds the floor (tail_floor) by more than
    TAIL_MS, the calls left work on another stream (as the C worker judges,
    KBW_TAIL_MS, on a floor of zero). The median, robust both ways: a few
    slow waits of an honest solution do not reject it, and a few calls in
    which hidden work ended before the wait began (the host preempted) do
    not let it through."""
    if median_tail_ms - floor_ms <= TAIL_MS:
        return None
    return ("work escaped the events: after PyTorch's current stream had finished, the device still "
            "worked %.3f ms in the median timed call, %.3f ms past this worker's floor of %.3f ms (the "
            "same wait after calls of one tiny kernel on the current stream; limit %.2f ms past it): all "
            "work must be on the current stream" % (median_tail_ms, median_tail_ms - floor_ms, floor_ms, TAIL_MS))


# ---------------------------------------------------------------------------
# tensors
# ---------------------------------------------------------------------------


def _torch_dtype(code):
    return getattr(torch, DTYPES[code][0])


def _load_tensor(t):
    """A job tensor's contents from its descriptor or path, on the CPU."""
    src = t["source"]
    try:
        fd = _int(src[3:]) if src.startswith("fd:") else os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    except (OSError, ValueError) as e:
        raise JobError(EXIT_JOB, "cannot open %s: %s" % (src, e))
    numel = 1
    for d in t["shape"]:
        numel *= d
    want = numel * DTYPES[t["dtype"]][1]
    try:
        size = os.fstat(fd).st_size
        if size != want:
            raise JobError(EXIT_JOB, "%s holds %d bytes, expected %d" % (src, size, want))
        data = bytearray(want)
        view, got = memoryview(data), 0
        while got < want:
            # By offset: the descriptor's position is shared with kbreed and
            # with every worker it starts on it.
            n = os.preadv(fd, [view[got:]], got)
            if n <= 0:
                raise JobError(EXIT_JOB, "%s ended after %d of %d bytes" % (src, got, want))
            got += n
    except OSError as e:
        raise JobError(EXIT_JOB, "cannot read %s: %s" % (src, e))
    finally:
        os.close(fd)
    dtype = _torch_dtype(t["dtype"])
    if not want:
        return torch.empty(t["shape"], dtype=dtype)
    return torch.frombuffer(data, dtype=dtype).reshape(t["shape"])


def _bytes_of(t):
    """A tensor's elements as a flat byte view (0-d and non-contiguous ones
    included); for comparisons and for writing files."""
    return t.contiguous().reshape(-1).view(torch.uint8)


def _same_bytes(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(_bytes_of(a), _bytes_of(b))


def _storage_ptr(t):
    try:
        return t.untyped_storage().data_ptr()
    except AttributeError:   # torch < 2.0
        return t.storage().data_ptr()


def _poison(t):
    """All bits set in t, as kbreed-worker poisons outputs."""
    try:
        if t.is_contiguous() and t.dim() > 0:
            t.view(torch.uint8).fill_(255)
            return
    except RuntimeError:
        pass
    t.fill_(float("nan") if t.is_floating_point() else True if t.dtype == torch.bool else -1)


def _short(e, limit=1500):
    s = "%s: %s" % (type(e).__name__, str(e).strip())
    return s if len(s) <= limit else s[:limit] + "..."


def _is_cuda_error(e):
    s = str(e)
    return "CUDA error" in s or "CUDA_ERROR" in s or "cudaError" in s or "illegal memory access" in s


class Fault(Exception):
    """The solution cannot be judged further: a fault reply of this class."""

    def __init__(self, cls, message, cuda=False):
        super().__init__(message)
        self.cls = cls
        self.cuda = cuda


# ---------------------------------------------------------------------------
# the worker
# ---------------------------------------------------------------------------


class Worker:
    def __init__(self, job, replies, problem_source, problem_name, seed, cpu):
        import random
        self.job = job
        self.replies = replies
        self.seed = seed
        self.cpu = cpu
        self.device = torch.device("cpu" if cpu else "cuda")
        self.rng = random.SystemRandom()   # no state in this process to read or predict
        self.used = False
        self.problem = self._load_problem(problem_source, problem_name)
        self._upload()
        self.numbers = self._number_inputs()
        # The timers and the tail's floor, made before any solution is
        # imported: nothing of the solution's can run while the floor is
        # measured, nor make it larger.
        self.timers = None if cpu else (torch.cuda.Event(enable_timing=True),
                                        torch.cuda.Event(enable_timing=True), torch.cuda.synchronize)
        self.tail_floor = 0.0
        if not cpu:
            pad = torch.zeros(1024, device=self.device)
            self.tail_floor = tail_floor(self.timers, Baseline(), lambda: pad.add_(1))
            _log("the tail's floor: %.4f ms, the median of %d calls of one tiny kernel on the current "
                 "stream" % (self.tail_floor, TAIL_FLOOR_CALLS))

    # -- setting up ----------------------------------------------------------

    def _load_problem(self, source, name):
        import types
        module = types.ModuleType("kbreed_problem")
        module.__file__ = name
        sys.modules["kbreed_problem"] = module
        try:
            exec(compile(source, name, "exec"), module.__dict__)
        except Exception as e:
            raise JobError(EXIT_JOB, "the problem file %s raised %s" % (name, _short(e)))
        if not callable(getattr(module, "get_init_inputs", None)):
            raise JobError(EXIT_JOB, "the problem file %s has no get_init_inputs()" % name)
        return module

    def _upload(self):
        job, dev = self.job, self.device
        self.sets = [[None] * job["n_inputs"] for _ in range(job["sets"])]
        self.params = [None] * job["n_params"]
        self.outs = [None] * job["n_outputs"]   # (dtype, shape)
        for t in job["tensors"]:
            if t["kind"] == "output":
                self.outs[t["index"]] = (_torch_dtype(t["dtype"]), tuple(t["shape"]))
            elif t["kind"] == "param":
                self.params[t["index"]] = _load_tensor(t).to(dev)
            else:
                self.sets[t["set"]][t["index"]] = _load_tensor(t).to(dev)
        self.slot = [torch.empty_like(x) for x in self.sets[0]]
        mb = 0 if self.cpu else job["flush_mb"]
        self.flush = torch.empty(mb << 20, dtype=torch.uint8, device=dev) if mb else None
        self._sync()

    def _number_inputs(self):
        """Which 0-d inputs the problem's get_inputs() gives as Python numbers
        (the job carries them as 0-d tensors): ModelNew gets numbers there, as
        KernelBench passes them."""
        zero_d = [i for i, x in enumerate(self.sets[0]) if x.dim() == 0]
        if not zero_d:
            return {}
        torch.manual_seed(self.seed + 1)
        try:
            given = list(self.problem.get_inputs())
        except Exception as e:
            raise JobError(EXIT_JOB, "the problem's get_inputs() raised %s" % _short(e))
        return {i: (int if isinstance(given[i], int) else float) for i in zero_d
                if i < len(given) and isinstance(given[i], (int, float)) and not isinstance(given[i], bool)}

    def _sync(self):
        if not self.cpu:
            torch.cuda.synchronize()

    # -- the slot --------------------------------------------------------------

    def _fill_slot(self, s):
        for dst, src in zip(self.slot, self.sets[s]):
            dst.copy_(src)

    def _fresh_slot(self):
        """Contents never seen: a random set, each input rotated by a random,
        non-zero number of rows of its last dimension (of elements when it
        has fewer than 64 rows), as kbreed-worker's fresh_slot."""
        s = self.rng.randrange(self.job["timed_sets"])
        for dst, src in zip(self.slot, self.sets[s]):
            numel = src.numel()
            unit = src.shape[-1] if src.dim() else 1
            if not unit or numel // unit < 64:
                unit = 1
            units = numel // unit if unit else 0
            cut = (1 + self.rng.randrange(units - 1)) * unit if units > 1 else 0
            flat_dst, flat_src = dst.reshape(-1), src.reshape(-1)
            flat_dst[:numel - cut].copy_(flat_src[cut:])
            if cut:
                flat_dst[numel - cut:].copy_(flat_src[:cut])

    def _args(self):
        return [self.numbers[i](x.item()) if i in self.numbers else x for i, x in enumerate(self.slot)]

    # -- the solution ----------------------------------------------------------

    def _import(self, path, outdir):
        import importlib.util
        # Builds (load_inline, torch.compile) go into this solution's own
        # directory: a shared cache would let one solution plant code for
        # another, and the unprivileged user has no home to keep one in.
        build = os.path.join(outdir, "build")
        os.makedirs(build, exist_ok=True)
        for var, sub in (("TORCH_EXTENSIONS_DIR", "torch_extensions"), ("TRITON_CACHE_DIR", "triton"),
                         ("TORCHINDUCTOR_CACHE_DIR", "inductor"), ("XDG_CACHE_HOME", "cache"), ("TMPDIR", "tmp")):
            os.environ[var] = os.path.join(build, sub)
        # nvcc names its temporary files by pid, and in a process namespace of
        # its own every worker's nvcc has the same few pids: a TMPDIR of its own.
        os.makedirs(os.environ["TMPDIR"], exist_ok=True)
        import tempfile
        tempfile.tempdir = None
        spec = importlib.util.spec_from_file_location("kbreed_solution", path)
        if spec is None or spec.loader is None:
            raise Fault("load_error", "%s cannot be loaded as a Python module" % path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["kbreed_solution"] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as e:
            raise Fault("load_error", "the solution has a syntax error at line %s: %s" % (e.lineno, e.msg))
        except (Exception, SystemExit) as e:
            import traceback
            traceback.print_exc(file=sys.stderr)
            raise Fault("load_error", "importing the solution raised %s" % _short(e), _is_cuda_error(e))
        cls = getattr(module, "ModelNew", None)
        if cls is None or not callable(cls):
            raise Fault("load_error", "the solution defines no ModelNew: a KernelBench solution defines "
                        "class ModelNew(nn.Module), built like the problem's Model")
        return cls

    def _build(self, cls):
        """ModelNew(*get_init_inputs()) under the seed Model was built under,
        with the problem's parameters when its own match them."""
        import traceback
        torch.manual_seed(self.seed)
        try:
            init = self.problem.get_init_inputs()
            model = cls(*init)
        except (Exception, SystemExit) as e:
            traceback.print_exc(file=sys.stderr)
            raise Fault("load_error", "ModelNew(*get_init_inputs()) raised %s" % _short(e), _is_cuda_error(e))
        if not isinstance(model, torch.nn.Module):
            raise Fault("load_error", "ModelNew is not a torch.nn.Module (it made a %s)" % type(model).__name__)
        try:
            model = model.to(self.device)
        except Exception as e:
            raise Fault("load_error", "ModelNew.to(%s) raised %s" % (self.device, _short(e)), _is_cuda_error(e))
        own = [t for _, t in list(model.named_parameters()) + list(model.named_buffers())]
        same = len(own) == len(self.params) and all(
            a.shape == b.shape and a.dtype == b.dtype for a, b in zip(own, self.params))
        with torch.no_grad():
            if same:
                for a, b in zip(own, self.params):
                    a.copy_(b)
                golden = self.params
                _log("ModelNew's %d parameters and buffers match the problem's: loaded with its values"
                     % len(own))
            else:
                golden = [t.detach().clone() for t in own]
                _log("ModelNew's parameters and buffers (%d) do not match the problem's (%d) in order, "
                     "shape and dtype: it keeps its own, made under the problem's seed"
                     % (len(own), len(self.params)))
        self._sync()
        return model, own, golden

    def _outputs(self, out, what):
        """The call's result as a list of tensors of the problem's outputs'
        shapes and dtypes; Fault otherwise."""
        if isinstance(out, torch.Tensor):
            out = [out]
        if not isinstance(out, (list, tuple)) or not all(isinstance(t, torch.Tensor) for t in out):
            raise Fault("runtime_error", "%s: ModelNew.forward returned %s, not a tensor or a tuple of "
                        "tensors" % (what, type(out).__name__))
        out = list(out)
        if len(out) != len(self.outs):
            raise Fault("runtime_error", "%s: ModelNew.forward returned %d tensors, the problem's Model "
                        "returns %d" % (what, len(out), len(self.outs)))
        for j, (t, (dtype, shape)) in enumerate(zip(out, self.outs)):
            if t.dtype != dtype or tuple(t.shape) != shape or t.device.type != self.device.type:
                raise Fault("runtime_error", "%s: output %d is %s %s on %s; the problem's is %s %s on %s"
                            % (what, j, str(t.dtype).replace("torch.", ""), list(t.shape), t.device.type,
                               str(dtype).replace("torch.", ""), list(shape), self.device.type))
        return out

    def _drop(self, outs, keep):
        """Poisons returned outputs before they are dropped, except memory
        that is an input's or a parameter's."""
        for t in outs:
            if _storage_ptr(t) not in keep:
                _poison(t)

    def _intact(self, own, golden, what):
        for i, x in enumerate(self.slot):
            s = self._current_set
            if not _same_bytes(x, self.sets[s][i]):
                raise Fault("rejected", "%s: the solution modified input %d" % (what, i))
        for k, (a, b) in enumerate(zip(own, golden)):
            if not _same_bytes(a.detach(), b):
                raise Fault("rejected", "%s: the solution modified parameter %d" % (what, k))

    def _save(self, outs, outdir, prefix):
        for j, t in enumerate(outs):
            data = _bytes_of(t.detach()).cpu().numpy().tobytes()
            path = os.path.join(outdir, "%s.out%d.bin" % (prefix, j))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)

    def run(self, path, outdir):
        """Judges one solution; every reply up to "end". Returns the exit
        code the worker must end with now (after a CUDA error), else None."""
        if self.used:
            self.replies.fault("load_error", "this worker has judged a solution already: Python cannot "
                               "unload one, so kbreed starts a fresh worker for each")
            self.replies.end(False)
            return None
        self.used = True
        try:
            self._judge(path, outdir)
        except Fault as f:
            self.replies.fault(f.cls, str(f))
            self.replies.end(False)
            return EXIT_CUDA if f.cuda else None
        self.replies.end(True)
        return None

    def _call(self, model, what, baseline, timers):
        """One call of the solution on the slot: returns (outputs, event_ms,
        host_ms, tail_ms), tail_ms being how long the device still worked
        after PyTorch's current stream had finished (work on other streams)."""
        import time
        args = self._args()
        if self.flush is not None:
            self.flush.fill_(self.rng.randrange(256))
        self._sync()
        try:
            with torch.no_grad():
                if self.cpu:
                    t0 = time.perf_counter()
                    out = model(*args)
                    t1 = time.perf_counter()
                    why = baseline.broken()
                    event_ms = host_ms = (t1 - t0) * 1e3
                    tail_ms = 0.0
                else:
                    out, event_ms, host_ms, tail_ms, why = bracketed(lambda: model(*args), timers, baseline)
        except Fault:
            raise
        except (Exception, SystemExit) as e:
            import traceback
            traceback.print_exc(file=sys.stderr)
            cuda = _is_cuda_error(e)
            raise Fault("runtime_error", "%s: %s%s" % (what, "the solution's work failed: " if cuda else
                                                        "ModelNew.forward raised ", _short(e)), cuda)
        if why:
            raise Fault("rejected", "%s: %s" % (what, why))
        return self._outputs(out, what), event_ms, host_ms, tail_ms

    def _judge(self, path, outdir):
        cls = self._import(path, outdir)
        model, own, golden = self._build(cls)
        keep = {_storage_ptr(t) for t in own + self.slot + [x for s in self.sets for x in s]}
        # Memory the first outputs may come from holds the poison too.
        spare = [torch.empty(int(torch.Size(shape).numel()), dtype=dtype, device=self.device)
                 for dtype, shape in self.outs]
        for t in spare:
            _poison(t)
        del spare
        timers = self.timers
        self._sync()
        baseline = Baseline()
        job = self.job
        order = list(range(job["sets"])) + [-1] * job["reps"]
        self.rng.shuffle(order)
        timed = 0
        tails = []
        for k in range(-job["warmup"], len(order)):
            s = order[k] if k >= 0 else -1
            if s >= 0:
                self._fill_slot(s)
                self._current_set = s
                what = "input set %d" % s
            else:
                self._fresh_slot()
                what = "warm-up call" if k < 0 else "timed call %d" % timed
            outs, event_ms, host_ms, tail_ms = self._call(model, what, baseline, timers)
            if s >= 0:
                self._intact(own, golden, what)
                self.replies.line("first %d %.6f %.6f" % (s, event_ms, host_ms))
                self._save(outs, outdir, "set%d" % s)
            elif k >= 0:
                self.replies.line("time %.6f %.6f" % (event_ms, host_ms))
                tails.append(tail_ms)
                timed += 1
            self._drop(outs, keep)
            del outs
        # As the C worker (KBW_TAIL_MS), above Python's own floor: the median
        # timed call left the device working after the current stream was
        # done, so work escaped the events.
        why = tail_fault(median(tails), self.tail_floor) if timed else None
        if why:
            raise Fault("rejected", why)
        for s in range(job["sets"]):
            what = "the check call on input set %d" % s
            self._fill_slot(s)
            self._current_set = s
            outs, _, _, _ = self._call(model, what, baseline, timers)
            self._intact(own, golden, what)
            self._save(outs, outdir, "timed%d" % s)
            self._drop(outs, keep)
            del outs
        self.replies.line("clocks 0 0")
        left = baseline.new_threads()
        if left:
            _log("the solution left %d thread(s) running: %s" % (len(left), left))
            self.replies.line("threads %d" % len(left))


def _args(argv):
    """JOB --problem fd:N --problem-name NAME --seed S; JobError otherwise."""
    usage = "usage: kbreed_pyworker.py JOB --problem fd:N|PATH --problem-name NAME --seed S"
    if len(argv) != 7 or argv[1::2] != ["--problem", "--problem-name", "--seed"]:
        raise JobError(EXIT_JOB, usage)
    try:
        seed = _int(argv[6])
    except ValueError:
        raise JobError(EXIT_JOB, usage)
    return argv[0], argv[2], argv[4], seed


def _read_source(src):
    try:
        fd = _int(src[3:]) if src.startswith("fd:") else os.open(src, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data, chunk = b"", b"x"
            while chunk and len(data) < 16 << 20:   # by offset, as _load_tensor reads
                chunk = os.pread(fd, 1 << 20, len(data))
                data += chunk
        finally:
            os.close(fd)
        return data.decode("utf-8")
    except (OSError, ValueError) as e:
        raise JobError(EXIT_JOB, "cannot read the problem file %s: %s" % (src, e))


def main(argv):
    global torch
    replies = Replies()
    sys.dont_write_bytecode = True   # leave no __pycache__ beside solutions
    try:
        job_path, problem_src, problem_name, seed = _args(argv)
        job = read_job(job_path)
        source = _read_source(problem_src)
    except JobError as e:
        replies.error(str(e))
        _log(str(e))
        return e.code
    cpu = os.environ.get("KBREED_PYWORKER_CPU") == "1"
    try:
        import torch as t
        torch = t
    except Exception as e:
        replies.error("torch cannot be imported in %s: %s" % (sys.executable, _short(e)))
        return EXIT_NO_GPU
    if cpu:
        _log("CPU MODE (KBREED_PYWORKER_CPU=1, for tests): the times are host clocks of CPU calls")
        torch.set_num_threads(1)
    elif not torch.cuda.is_available():
        replies.error("no CUDA device is visible to torch %s in %s" % (torch.__version__, sys.executable))
        return EXIT_NO_GPU
    try:
        worker = Worker(job, replies, source, problem_name, seed, cpu)
    except JobError as e:
        replies.error(str(e))
        _log(str(e))
        return e.code
    free = 0 if cpu else torch.cuda.mem_get_info()[0]
    replies.line("ready %d %d" % (PROTOCOL, free))
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == "quit":
            break
        parts = line[5:].split("\t") if line.startswith("eval ") else []
        if len(parts) != 2 or not parts[0] or not parts[1]:
            replies.error("unknown command")
            continue
        code = worker.run(parts[0], parts[1])
        if code is not None:
            sys.stdout.flush()
            os._exit(code)   # a CUDA error: nothing in this process is to be trusted
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
