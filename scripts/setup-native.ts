/**
 * `npm run setup:native [-- --gpu] [--wheel FILE] [--tf-version X.Y.Z] [--force]`
 *
 * Gives `@tensorflow/tfjs-node` (or, with --gpu, `@tensorflow/tfjs-node-gpu`) a working libtensorflow without
 * the package's own install script, which downloads libtensorflow 2.9.1 from a bucket at install time. Instead
 * the library comes from a TensorFlow pip wheel (`tensorflow-cpu`, or the CUDA-enabled `tensorflow` for --gpu):
 * its `libtensorflow_cc.so.2` exports the TF C and eager C APIs that the addon calls, so the addon
 * (binding/tfjs_binding.cc in the package) builds unchanged against the wheel's headers with npm's node-gyp.
 *
 * Steps, each failing with one line that names what is missing:
 *   1. the npm package (installed with --ignore-scripts if npm dropped the optional dependency);
 *   2. the wheel (--wheel, else the cache, else `pip download`; works offline where pip has a local store);
 *   3. deps/lib (the wheel's shared libraries) and deps/include (its headers) inside the package;
 *   4. node-gyp against Node's own headers, into the lib/napi-vN folder that tfjs-node's loader looks in;
 *   5. a child process that loads the package and runs a matmul on the 'tensorflow' backend.
 * A stamp file (src/runtime/native-stamp.ts) records the wheel; running again with the same wheel does nothing.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { advoodCacheDir } from '../src/core/cache-dir.js';
import { NATIVE_STAMP_FILE, readNativeStamp, type NativeStamp } from '../src/runtime/native-stamp.js';
import { QUIET_STDERR_ADDON } from '../src/runtime/quiet-stderr.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The tested TensorFlow release: its wheel's C API is what the addon was built and checked against. */
const DEFAULT_TF_VERSION = '2.21.0';

class SetupError extends Error {}

interface Variant {
  npmPackage: string;
  /** advood's name for the backend this package brings up. */
  backend: 'tensorflow' | 'tensorflow-gpu';
  /** The pip distribution whose wheel carries libtensorflow for this variant. */
  wheelDistribution: string;
}

const VARIANTS: Record<'cpu' | 'gpu', Variant> = {
  cpu: { npmPackage: '@tensorflow/tfjs-node', backend: 'tensorflow', wheelDistribution: 'tensorflow-cpu' },
  // The default Linux `tensorflow` wheel is the CUDA build (CUDA 12, cuDNN 9 for TF ≥ 2.16); its CUDA libraries
  // come from the system or from `pip install tensorflow[and-cuda]` on LD_LIBRARY_PATH (README, "Native speed").
  gpu: { npmPackage: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow-gpu', wheelDistribution: 'tensorflow' },
};

function log(message: string): void {
  process.stdout.write(`setup:native: ${message}\n`);
}

function commandExists(command: string, args: string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

function repoPackageJson(): { optionalDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
}

function resolvePackageDir(npmPackage: string): string | null {
  try {
    return dirname(createRequire(join(REPO, 'package.json')).resolve(`${npmPackage}/package.json`));
  } catch {
    return null;
  }
}

/** npm drops an optional dependency whose install script fails (it downloads); bring it back without the script. */
function ensureNpmPackage(npmPackage: string): string {
  const existing = resolvePackageDir(npmPackage);
  if (existing) return existing;
  const version = repoPackageJson().optionalDependencies?.[npmPackage];
  if (!version) throw new SetupError(`${npmPackage} is not an optional dependency in package.json`);
  log(`installing ${npmPackage}@${version} without its download script`);
  const npm = spawnSync('npm', ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${npmPackage}@${version}`], {
    cwd: REPO,
    encoding: 'utf8',
  });
  const dir = resolvePackageDir(npmPackage);
  if (npm.status !== 0 || !dir) {
    const last = (npm.stderr || npm.stdout || '').trim().split('\n').at(-1) ?? '';
    throw new SetupError(`npm could not install ${npmPackage}@${version}: ${last || `exit ${npm.status}`}`);
  }
  return dir;
}

function findPython(explicit: string | undefined): string {
  const candidates = explicit ? [explicit] : ['python3', 'python'];
  for (const python of candidates) if (commandExists(python, ['-m', 'pip', '--version'])) return python;
  throw new SetupError(
    explicit
      ? `${explicit} -m pip does not run; pass a python with pip (--python) or a wheel (--wheel FILE)`
      : 'pip not found (tried python3 -m pip, python -m pip); install python3-pip or pass a wheel with --wheel FILE',
  );
}

function wheelPrefix(variant: Variant, tfVersion: string): string {
  return `${variant.wheelDistribution.replace(/-/g, '_')}-${tfVersion}-`;
}

function findCachedWheel(dir: string, variant: Variant, tfVersion: string): string | null {
  const prefix = wheelPrefix(variant, tfVersion);
  const match = readdirSync(dir).find((name) => name.startsWith(prefix) && name.endsWith('.whl'));
  return match ? join(dir, match) : null;
}

function obtainWheel(variant: Variant, tfVersion: string, python: string | undefined): string {
  const dir = advoodCacheDir('native', 'wheels');
  const cached = findCachedWheel(dir, variant, tfVersion);
  if (cached) return cached;
  const pip = findPython(python);
  const requirement = `${variant.wheelDistribution}==${tfVersion}`;
  log(`downloading the ${requirement} wheel with pip (into ${dir})`);
  const result = spawnSync(pip, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', dir, requirement], {
    encoding: 'utf8',
  });
  const wheel = findCachedWheel(dir, variant, tfVersion);
  if (result.status !== 0 || !wheel) {
    const reason = (result.stderr || result.stdout || '').trim().split('\n').filter((line) => line.startsWith('ERROR')).at(-1);
    throw new SetupError(`pip found no ${requirement} wheel for this Python/platform${reason ? ` (${reason})` : ''}; pass one with --wheel FILE`);
  }
  return wheel;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Extracts the wheel's shared libraries into deps/lib and its headers into a scratch folder, with Python's
 * zipfile (pip's own Python; no unzip binary needed). Returns the scratch include folder.
 */
function extractWheel(python: string, wheel: string, depsLib: string, scratch: string): string {
  const script = [
    'import sys, zipfile, shutil, os',
    'wheel, lib, inc = sys.argv[1:4]',
    'want = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}',
    'found = set()',
    'with zipfile.ZipFile(wheel) as z:',
    '    for info in z.infolist():',
    '        name = info.filename',
    '        if name in want:',
    '            found.add(name)',
    '            with z.open(info) as src, open(os.path.join(lib, os.path.basename(name)), "wb") as dst: shutil.copyfileobj(src, dst, 1 << 24)',
    '        elif name.startswith("tensorflow/include/") and not name.endswith("/"):',
    '            z.extract(info, inc)',
    'missing = want - found',
    'if missing: sys.exit("the wheel has no " + ", ".join(sorted(missing)))',
  ].join('\n');
  const result = spawnSync(python, ['-c', script, wheel, depsLib, scratch], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new SetupError(`${basename(wheel)}: could not extract libtensorflow (${(result.stderr || '').trim().split('\n').at(-1)})`);
  }
  const include = join(scratch, 'tensorflow', 'include');
  if (!existsSync(join(include, 'tensorflow', 'c', 'eager', 'c_api.h'))) {
    throw new SetupError(`${basename(wheel)}: the wheel has no tensorflow/include/tensorflow/c/eager/c_api.h`);
  }
  return include;
}

/** The names binding.gyp links against (-ltensorflow -ltensorflow_framework) and its rpath loads at run time. */
function linkLibraryNames(depsLib: string): void {
  const links: [string, string][] = [
    ['libtensorflow.so.2', 'libtensorflow_cc.so.2'],
    ['libtensorflow.so', 'libtensorflow.so.2'],
    ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
  ];
  for (const [link, target] of links) symlinkSync(target, join(depsLib, link));
}

/** Node's own headers (node_api.h) next to the running node; node-gyp would otherwise try to download them. */
function nodeHeadersDir(): string {
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  throw new SetupError(`node headers not found (${join(prefix, 'include', 'node', 'node_api.h')}); install Node's development headers (Debian: libnode-dev)`);
}

function nodeGypScript(): string {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(resolve(dirname(process.execPath), '..'), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  throw new SetupError("node-gyp not found (it ships with npm: lib/node_modules/npm/node_modules/node-gyp); run this through 'npm run setup:native'");
}

/** The N-API version node-pre-gyp's `find` picks: the highest the package lists that this Node supports. */
function napiVersion(packageDir: string): number {
  const binary = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { binary: { napi_versions: number[] } }).binary;
  const supported = Number(process.versions.napi);
  const usable = binary.napi_versions.filter((v) => v <= supported);
  if (usable.length === 0) throw new SetupError(`this Node supports N-API ${supported}, below every version the package lists`);
  return Math.max(...usable);
}

function nodeGyp(cwd: string, args: string[], what: string): void {
  const result = spawnSync(process.execPath, [nodeGypScript(), 'rebuild', `--nodedir=${nodeHeadersDir()}`, '-j', 'max', ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (result.status === 0) return;
  const logFile = join(tmpdir(), `advood-native-build-${process.pid}.log`);
  writeFileSync(logFile, `${result.stdout ?? ''}\n${result.stderr ?? ''}`);
  const firstError = (result.stderr ?? '').split('\n').find((line) => /error/i.test(line)) ?? `exit ${result.status}`;
  throw new SetupError(`node-gyp could not build ${what}: ${firstError.trim()} (full log: ${logFile})`);
}

function checkToolchain(): void {
  const compiler = process.env.CXX ?? 'g++';
  if (!commandExists(compiler)) throw new SetupError(`no C++ compiler (${compiler}); install one (Debian: apt-get install g++ make)`);
  if (!commandExists('make')) throw new SetupError('make not found; install it (Debian: apt-get install make)');
}

/** The tfjs binding, then the quiet-stderr addon (src/runtime/quiet-stderr.ts) into the same folder. */
function build(packageDir: string, modulePath: string, napi: number, scratch: string): void {
  checkToolchain();
  log('building the addon with node-gyp (about half a minute)');
  nodeGyp(packageDir, ['--module_name=tfjs_binding', `--module_path=${modulePath}`, `--napi_build_version=${napi}`], 'the tfjs binding');
  const quiet = join(scratch, 'quiet-stderr');
  cpSync(join(REPO, 'scripts', 'native', 'quiet-stderr'), quiet, { recursive: true });
  nodeGyp(quiet, [], 'the quiet-stderr addon');
  copyFileSync(join(quiet, 'build', 'Release', 'quiet_stderr.node'), join(modulePath, QUIET_STDERR_ADDON));
}

/**
 * Starts the backend in a fresh process exactly as advood does (`advood doctor`), and checks that it came up
 * and that nothing reached stderr (TensorFlow's start-up banners). Returns the TensorFlow version it reports.
 */
function checkBackendStarts(backend: 'tensorflow' | 'tensorflow-gpu'): string {
  const result = spawnSync(process.execPath, [join(REPO, 'bin', 'advood.mjs'), 'doctor', '--backend', backend, '--json'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    const reason = (result.stderr ?? '').trim().split('\n').filter(Boolean).slice(-2).join(' ');
    throw new SetupError(`the built addon does not start the ${backend} backend: ${reason || `exit ${result.status}`}`);
  }
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { native?: { tensorflowVersion: string } };
  if (!report.native) throw new SetupError(`advood doctor reported no native library for ${backend}`);
  if (result.stderr.trim()) log(`warning: start-up wrote to stderr: ${result.stderr.trim().split('\n')[0]}`);
  return report.native.tensorflowVersion;
}

async function main(): Promise<void> {
  const args = await yargs(process.argv.slice(2))
    .scriptName('setup:native')
    .usage('$0 [--gpu] [--wheel FILE] [--tf-version X.Y.Z] [--force]\n\nBuilds the tfjs-node addon against libtensorflow from a TensorFlow pip wheel.')
    .option('gpu', { type: 'boolean', default: false, describe: '@tensorflow/tfjs-node-gpu with the CUDA build of the wheel (`tensorflow`)' })
    .option('wheel', { type: 'string', describe: 'a TensorFlow wheel file to take libtensorflow from (skips pip)' })
    .option('tf-version', { type: 'string', default: DEFAULT_TF_VERSION, describe: 'TensorFlow version to fetch with pip' })
    .option('python', { type: 'string', describe: 'the Python whose pip downloads the wheel (default: python3)' })
    .option('force', { type: 'boolean', default: false, describe: 'rebuild even if the same wheel is already set up' })
    .strict()
    .help()
    .parseAsync();
  const started = Date.now();
  const variant = VARIANTS[args.gpu ? 'gpu' : 'cpu'];
  const packageDir = ensureNpmPackage(variant.npmPackage);
  const napi = napiVersion(packageDir);
  const modulePath = join(packageDir, 'lib', `napi-v${napi}`);

  const wheel = args.wheel ? resolve(args.wheel) : obtainWheel(variant, args.tfVersion, args.python);
  if (!existsSync(wheel)) throw new SetupError(`${wheel}: no such wheel file`);
  const wheelSha256 = await sha256File(wheel);

  const stamp = readNativeStamp(packageDir);
  if (!args.force && stamp?.wheelSha256 === wheelSha256 && existsSync(join(modulePath, 'tfjs_binding.node'))) {
    const version = checkBackendStarts(variant.backend);
    log(`already set up: ${variant.npmPackage} on TensorFlow ${version} from ${stamp.wheel} (--force rebuilds)`);
    return;
  }

  const python = args.wheel && !args.python ? findPythonForExtraction() : findPython(args.python);
  const deps = join(packageDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  rmSync(join(packageDir, 'build'), { recursive: true, force: true });
  rmSync(modulePath, { recursive: true, force: true });
  const depsLib = join(deps, 'lib');
  mkdirSync(depsLib, { recursive: true });
  const scratch = join(tmpdir(), `advood-native-${process.pid}`);
  try {
    log(`extracting libtensorflow from ${basename(wheel)}`);
    const include = extractWheel(python, wheel, depsLib, scratch);
    linkLibraryNames(depsLib);
    symlinkSync(include, join(deps, 'include'));
    build(packageDir, modulePath, napi, scratch);
  } finally {
    // The headers are needed only to compile; the addon loads deps/lib through its rpath ($ORIGIN/../../deps/lib).
    rmSync(join(deps, 'include'), { force: true });
    rmSync(scratch, { recursive: true, force: true });
    rmSync(join(packageDir, 'build'), { recursive: true, force: true });
  }
  const version = checkBackendStarts(variant.backend);
  const record: NativeStamp = {
    npmPackage: variant.npmPackage,
    tensorflowVersion: version,
    wheel: basename(wheel),
    wheelSha256,
    napiVersion: napi,
    builtWith: `node ${process.versions.node}`,
  };
  writeFileSync(join(modulePath, NATIVE_STAMP_FILE), JSON.stringify(record, null, 2) + '\n');
  log(`ready: ${variant.npmPackage} on TensorFlow ${version} from ${basename(wheel)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  log("check with 'npx advood doctor'");
}

/** With --wheel alone pip is not needed, but Python's zipfile still extracts the wheel. */
function findPythonForExtraction(): string {
  for (const python of ['python3', 'python']) if (commandExists(python)) return python;
  throw new SetupError('python3 not found; it is needed to unpack the wheel (Debian: apt-get install python3)');
}

main().catch((error: unknown) => {
  if (error instanceof SetupError) {
    process.stderr.write(`setup:native: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
});
