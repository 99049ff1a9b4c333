// Starts a task's native binary for the Azure Pipelines agent.
//
// The agent runs only Node (or PowerShell) handlers on Linux and macOS, so
// every task.json points its Node20_1 and Node24 handlers at this file. It
// is copied into every task folder when the extension is packaged, and must
// stay free of dependencies: loading azure-pipelines-task-lib would delete
// the task's inputs, endpoints and secrets from the environment before the
// binary could read them.
//
// The binaries of all platforms are packed into one brotli stream,
// bin/binaries.br, described by bin/binaries.json (written by
// stage-extension, crates/extension-checks/src/stage.rs): five platforms'
// binaries stored one by one would take a VSIX past Azure DevOps Server's
// 25 MiB upload limit. On first use the launcher unpacks this platform's
// binary to bin/<os>-<arch>/<file> in the task folder (or, when that is
// read-only, under Agent.TempDirectory), and later launches reuse it; the
// size and SHA-256 listed in binaries.json are checked at every launch.
//
// It runs the binary with the unchanged environment and inherited stdio,
// forwards SIGINT and SIGTERM on Linux and macOS (the agent signals only
// this node process when a pipeline is cancelled), and exits with the
// binary's exit code.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const OS = { linux: 'linux', darwin: 'macos', win32: 'win' };
const ARCH = { x64: 'x64', arm64: 'arm64' };

// Logging-command escaping, as the agent decodes it (percent first).
function escapeData(s) {
  return String(s).replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function fail(message) {
  process.stdout.write('##vso[task.logissue type=error]' + escapeData(message) + '\n');
  process.stdout.write('##vso[task.complete result=Failed]' + escapeData(message) + '\n');
  process.exit(1);
}

function damaged(what) {
  fail('The task package is damaged: ' + what + '. Reinstall the extension (or, for a ' +
    'self-hosted agent, delete the task\'s folder under the agent\'s _work/_tasks so that ' +
    'the agent downloads it again).');
}

function readJson(file) {
  const shown = path.relative(__dirname, file).split(path.sep).join('/');
  let value;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    damaged(shown + ' cannot be read (' + e.message + ')');
  }
  if (value === null || typeof value !== 'object') {
    damaged(shown + ' holds no JSON object');
  }
  return value;
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// The binary at `file` when it is exactly the one listed (size, then
// SHA-256, about 6 ms for 5 MB): a file cut short by a crash, or put there
// by anything else, is never run; the caller unpacks a fresh copy over it.
function verified(file, entry) {
  try {
    if (fs.statSync(file).size !== entry.size || sha256(fs.readFileSync(file)) !== entry.sha256) {
      return false;
    }
  } catch (e) {
    return false;
  }
  if (process.platform !== 'win32') {
    try {
      fs.chmodSync(file, 0o755);
    } catch (e) {
      // A read-only folder keeps the bits it was unpacked with.
    }
  }
  return true;
}

// Decompresses the archive up to the end of `entry` and calls back with its
// bytes; the platforms after it are never decompressed.
function extract(archive, entry, callback) {
  const out = Buffer.alloc(entry.size);
  let position = 0;
  let filled = 0;
  let finished = false;
  const input = fs.createReadStream(archive);
  const brotli = zlib.createBrotliDecompress();
  const finish = (error) => {
    if (finished) {
      return;
    }
    finished = true;
    input.destroy();
    brotli.destroy();
    callback(error, out);
  };
  brotli.on('data', (chunk) => {
    const start = Math.max(entry.offset - position, 0);
    const end = Math.min(entry.offset + entry.size - position, chunk.length);
    if (end > start) {
      chunk.copy(out, filled, start, end);
      filled += end - start;
    }
    position += chunk.length;
    if (filled === entry.size) {
      finish(null);
    }
  });
  brotli.on('end', () => finish(new Error('the stream ends before the end of the ' + entry.platform + ' binary')));
  brotli.on('error', finish);
  input.on('error', finish);
  input.pipe(brotli);
}

// Writes the binary to `file` through a new temporary file in the same
// folder (created exclusively, so never through a link someone left
// there), flushed to disk before the rename, so that no crash leaves a
// partial binary under the final name. Another step may have put the file
// there first (on Windows a running .exe cannot be replaced); the same
// verified binary is as good as ours.
function install(data, file, entry) {
  const temporary = file + '.' + process.pid + '-' + crypto.randomBytes(4).toString('hex') + '.tmp';
  let created = false;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(temporary, 'wx', 0o755);
    created = true;
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // The umask may have taken the executable bits away.
    fs.chmodSync(temporary, 0o755);
    try {
      fs.renameSync(temporary, file);
      created = false;
    } catch (e) {
      if (!verified(file, entry)) {
        throw e;
      }
    }
  } finally {
    if (created) {
      try {
        fs.unlinkSync(temporary);
      } catch (e) {
        // Already gone.
      }
    }
  }
}

function run(name, exe) {
  let child;
  try {
    child = childProcess.spawn(exe, process.argv.slice(2), { stdio: 'inherit', env: process.env, windowsHide: true });
  } catch (e) {
    fail('The ' + name + ' task binary ' + exe + ' could not be started: ' + e.message);
  }
  const forward = (signal) => {
    process.on(signal, () => {
      try {
        child.kill(signal);
      } catch (e) {
        // The binary has already exited.
      }
    });
  };
  // On Windows the agent cancels with a console Ctrl+C, which reaches the
  // binary directly; child.kill() there would be TerminateProcess, which
  // allows no clean-up.
  if (process.platform !== 'win32') {
    forward('SIGINT');
    forward('SIGTERM');
  } else {
    process.on('SIGINT', () => {});
  }
  child.on('error', (e) => fail('The ' + name + ' task binary ' + exe + ' could not be started: ' + e.message));
  child.on('exit', (code, signal) => {
    if (code !== null) {
      process.exit(code);
    }
    const number = (signal && require('os').constants.signals[signal]) || 0;
    process.exit(128 + number);
  });
}

// A file name with no folder in it.
function plainName(name) {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' &&
    path.basename(name) === name && !/[\\/]/.test(name);
}

function main() {
  const dir = __dirname;
  const name = readJson(path.join(dir, 'task.json')).name;
  if (typeof name !== 'string' || name === '') {
    damaged('task.json has no task name');
  }
  const index = readJson(path.join(dir, 'bin', 'binaries.json'));
  if (!Array.isArray(index.binaries) || index.binaries.length === 0 || !plainName(index.archive)) {
    damaged('bin/binaries.json lists no binaries');
  }
  const os = OS[process.platform];
  const arch = ARCH[process.arch];
  const platform = (os || process.platform) + '-' + (arch || process.arch);
  const listed = index.binaries.filter((b) => b !== null && typeof b === 'object' && typeof b.platform === 'string');
  if (listed.length === 0) {
    damaged('bin/binaries.json lists no binaries');
  }
  const entry = listed.find((b) => b.platform === platform);
  if (!os || !arch || !entry) {
    const shipped = listed.map((b) => b.platform).join(', ');
    fail('The ' + name + ' task has no binary for this agent\'s platform, ' + platform +
      ' (this package has: ' + shipped + '). Run the job on an agent with one of those platforms.');
  }
  const count = (n, most) => Number.isSafeInteger(n) && n >= 0 && n <= most;
  if (!plainName(entry.file) || !count(entry.offset, Number.MAX_SAFE_INTEGER) || !count(entry.size, 1 << 30) ||
    entry.size === 0 || !/^[0-9a-f]{64}$/.test(String(entry.sha256))) {
    damaged('bin/binaries.json has no valid file name, offset, size and SHA-256 for ' + platform);
  }

  // The task folder first; one that cannot be written (a container job
  // with mountReadOnly tasks) falls back to the job's temporary folder,
  // under a name that changes with the binary.
  const places = [path.join(dir, 'bin', platform, entry.file)];
  if (process.env.AGENT_TEMPDIRECTORY) {
    places.push(path.join(process.env.AGENT_TEMPDIRECTORY, 'azp-aws-tasks', entry.sha256.slice(0, 16), entry.file));
  }
  const found = places.find((p) => verified(p, entry));
  if (found) {
    run(name, found);
    return;
  }
  extract(path.join(dir, 'bin', index.archive), entry, (error, data) => {
    if (error) {
      damaged('bin/' + index.archive + ' cannot be unpacked (' + error.message + ')');
    }
    const digest = sha256(data);
    if (digest !== entry.sha256) {
      damaged('the ' + platform + ' binary unpacked from bin/' + index.archive + ' has SHA-256 ' +
        digest + ', not the ' + entry.sha256 + ' listed in bin/binaries.json');
    }
    const problems = [];
    const installed = places.find((place) => {
      try {
        install(data, place, entry);
        return true;
      } catch (e) {
        problems.push(place + ': ' + e.message);
        return false;
      }
    });
    if (!installed) {
      fail('The ' + name + ' task could not unpack its ' + platform + ' binary (' + problems.join('; ') +
        '). The agent\'s task folder or its temporary folder (Agent.TempDirectory) must be writable.');
    }
    run(name, installed);
  });
}

main();
