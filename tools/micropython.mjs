// Runs one Python file under the MicroPython WebAssembly VM, like the unix port's `micropython`.
// Usage: node micropython.mjs [-X heapsize=N[k|m]] [-m DIR]... FILE.py [args...]
// The VM has its own in-memory file system: the repo's firmware/ and tests/ folders are copied
// into it at the same absolute paths, firmware/ and the script's folder go on sys.path, and the
// working directory is an empty scratch folder. `-m DIR` copies one more host folder in (same path). Exit status: the script's SystemExit code, 1 on
// an uncaught exception (traceback on stderr), 2 on bad usage.
import fs from "node:fs";
import path from "node:path";
import url from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const MIRRORED = ["firmware", "tests"];
const SKIP = new Set(["__pycache__", "node_modules", ".hypothesis", ".pytest_cache"]);

function usage(message) {
  process.stderr.write(`micropython: ${message}\nusage: tools/micropython [-X heapsize=N[k|m]] [-m DIR]... FILE.py [args...]\n`);
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

function mirror(FS, hostDir) {
  if (!fs.existsSync(hostDir)) return;
  mkdirs(FS, hostDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(hostDir, entry.name);
    if (entry.isDirectory()) mirror(FS, full);
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
const extra = [];
while (args.length && (args[0] === "-X" || args[0] === "-m")) {
  const opt = args[1] || "";
  if (args[0] === "-m") {
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
for (const dir of MIRRORED) mirror(mp.FS, path.join(repo, dir));
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
try:
    _g = {"__name__": "__main__", "__file__": sys.argv[0]}
    with open(sys.argv[0]) as _f:
        _src = _f.read()
    exec(compile(_src, sys.argv[0], "exec"), _g)
except SystemExit as _e:
    _code = _e.args[0] if _e.args else 0
    if _code is None:
        _rc = 0
    elif isinstance(_code, int):
        _rc = _code
    else:
        print(_code, file=sys.stderr)
        _rc = 1
except BaseException as _e:
    sys.print_exception(_e, sys.stderr)
    _rc = 1
`;
let rc = 0;
try {
  mp.runPython(wrapper);
  rc = mp.globals.get("_rc");
} catch (e) {
  err.put(Buffer.from(String(e && e.message ? e.message : e) + "\n"));
  rc = 1;
}
out.flush();
err.flush();
process.exitCode = rc;
