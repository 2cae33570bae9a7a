// Runs one Python file under the MicroPython WebAssembly VM, like the unix port's `micropython`.
// Usage: node micropython.mjs [-X heapsize=N[k|m] | --heap N[k|m]] [--mpy-cross PATH] [-m DIR]... FILE.py [args...]
// The VM has its own in-memory file system: the repo's firmware/ and tests/ folders are copied
// into it at the same absolute paths, firmware/ and the script's folder go on sys.path, and the
// working directory is an empty scratch folder. `-m DIR` copies one more host folder in (same path). Exit status: the script's SystemExit code, 1 on
// an uncaught exception (traceback on stderr), 2 on bad usage, 3 when the heap had to grow past --heap.
//
// Garbage collection: this build (split heap, auto-grow) never collects inside a call into the VM:
// gc.collect() is a no-op there and a failed allocation adds a heap area instead. It collects at the
// start of each top-level call from JavaScript. So a script that defines `vm_step()` (the wrapper sets
// VM_STEPS = True in its globals) has it called again and again, each call a separate top-level call,
// until it returns a false value: between steps the heap holds only live objects, and gc.mem_alloc()
// at the start of a step is the live heap. `-X heapsize` only sizes the first heap area; `--heap N`
// makes it a fixed heap: the run fails (status 3) if the VM had to add an area.
// `--mpy-cross PATH` loads firmware/ as bytecode .mpy compiled by that mpy-cross (as flashed on a
// device), so importing the core leaves no compiler garbage in a heap that cannot collect mid-call.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import url from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const MIRRORED = ["firmware", "tests"];
const SKIP = new Set(["__pycache__", "node_modules", ".hypothesis", ".pytest_cache"]);

function usage(message) {
  process.stderr.write(`micropython: ${message}\nusage: tools/micropython [-X heapsize=N[k|m] | --heap N[k|m]] [--mpy-cross PATH] [-m DIR]... FILE.py [args...]\n`);
  process.exit(2);
}

function parseSize(text) {
  const m = /^(\d+)([kKmM]?)$/.exec(text);
  if (!m) usage(`bad heap size ${text}`);
  const unit = { "": 1, k: 1024, m: 1048576 }[m[2].toLowerCase()];
  return parseInt(m[1], 10) * unit;
}

function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    try { FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}

function compileMpy(mpyCross, src) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mpy-")), "out.mpy");
  try {
    execFileSync(mpyCross, ["-s", path.relative(repo, src), "-o", out, src], { stdio: ["ignore", "ignore", "pipe"] });
    return fs.readFileSync(out);
  } catch (e) {
    usage(`mpy-cross failed on ${src}: ${e.stderr || e.message}`);
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

function mirror(FS, hostDir, mpyCross) {
  if (!fs.existsSync(hostDir)) return;
  mkdirs(FS, hostDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(hostDir, entry.name);
    if (entry.isDirectory()) mirror(FS, full, mpyCross);
    else if (mpyCross && entry.name.endsWith(".py")) FS.writeFile(full.slice(0, -3) + ".mpy", compileMpy(mpyCross, full));
    else if (entry.isFile() && /\.(py|json|bin|txt)$/.test(entry.name)) FS.writeFile(full, fs.readFileSync(full));
  }
}

function output(stream) {
  let pending = [];
  const flush = () => { if (pending.length) { stream.write(Buffer.from(pending)); pending = []; } };
  const put = (bytes) => { for (const b of bytes) { pending.push(b); if (b === 10 || pending.length > 4096) flush(); } };
  return { put, flush };
}

const args = process.argv.slice(2);
let heapsize = 1024 * 1024;
let fixedHeap = false;
let mpyCross = null;
const extra = [];
while (args.length && ["-X", "-m", "--heap", "--mpy-cross"].includes(args[0])) {
  const opt = args[1] || "";
  if (args[0] === "--mpy-cross") {
    if (!fs.existsSync(opt)) usage(`--mpy-cross needs the mpy-cross program, got ${opt}`);
    mpyCross = opt;
  } else if (args[0] === "--heap") {
    heapsize = parseSize(opt);
    fixedHeap = true;
  } else if (args[0] === "-m") {
    if (!fs.existsSync(opt) || !fs.statSync(opt).isDirectory()) usage(`-m needs a folder, got ${opt}`);
    extra.push(path.resolve(opt));
  } else {
    if (!opt.startsWith("heapsize=")) usage(`unknown option -X ${opt}`);
    heapsize = parseSize(opt.slice("heapsize=".length));
  }
  args.splice(0, 2);
}
if (!args.length) usage("no file given");
const script = path.resolve(args[0]);
if (!fs.existsSync(script)) usage(`cannot open ${args[0]}`);

const out = output(process.stdout);
const err = output(process.stderr);
const mp = await loadMicroPython({ heapsize, stdout: out.put, stderr: err.put, linebuffer: false });
for (const dir of MIRRORED) mirror(mp.FS, path.join(repo, dir), dir === "firmware" ? mpyCross : null);
for (const dir of extra) mirror(mp.FS, dir);
mkdirs(mp.FS, path.dirname(script));
mp.FS.writeFile(script, fs.readFileSync(script));
mkdirs(mp.FS, "/scratch");
mp.FS.chdir("/scratch");

const wrapper = `
import sys
sys.path[:0] = [${JSON.stringify(path.dirname(script))}, ${JSON.stringify(path.join(repo, "firmware"))}]
sys.argv[:] = ${JSON.stringify([script, ...args.slice(1)])}
_rc = 0
import gc
_AUTO_GROW = 128 * 1024 * 1024  # this build's gc_get_max_new_split(), counted in gc.mem_free()


def _heap_size():
    return gc.mem_alloc() + gc.mem_free() - _AUTO_GROW


_heap0 = _heap_size()
_heap_max = _heap0
_g = {"__name__": "__main__", "__file__": sys.argv[0], "VM_STEPS": True}


def _report(e):
    global _rc
    if isinstance(e, SystemExit):
        code = e.args[0] if e.args else 0
        if code is None:
            _rc = 0
        elif isinstance(code, int):
            _rc = code
        else:
            print(code, file=sys.stderr)
            _rc = 1
    else:
        sys.print_exception(e, sys.stderr)
        _rc = 1


def _heap_check():
    global _heap_max
    _heap_max = max(_heap_max, _heap_size())


def _step_once():
    step = _g.get("vm_step")
    if _rc or step is None:
        return False
    try:
        more = bool(step())
    except BaseException as e:
        _report(e)
        more = False
    _heap_check()
    return more


try:
    with open(sys.argv[0]) as _f:
        _code = compile(_f.read(), sys.argv[0], "exec")
    exec(_code, _g)
except BaseException as _e:
    _report(_e)
_code = None  # the script's top-level code is not live once it has run
_heap_check()
`;
let rc = 0;
try {
  mp.runPython(wrapper);
  // each step is a separate top-level call: the VM collects garbage at its start
  while (mp.runPython("_more = _step_once()"), mp.globals.get("_more")) { /* next step */ }
  rc = mp.globals.get("_rc");
  const heapMax = mp.globals.get("_heap_max");
  const heap0 = mp.globals.get("_heap0");  // usable bytes of the first area, before the script ran
  if (fixedHeap && rc === 0 && (heapMax > heap0 || heap0 > heapsize)) {
    err.put(Buffer.from(`micropython: the heap had to grow past --heap ${heapsize} bytes (${heap0} usable at the start) to ${heapMax} bytes\n`));
    rc = 3;
  }
} catch (e) {
  err.put(Buffer.from(String(e && e.message ? e.message : e) + "\n"));
  rc = 1;
}
out.flush();
err.flush();
process.exitCode = rc;
