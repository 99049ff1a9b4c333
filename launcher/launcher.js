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
// read-only, under Agent.TempDirectory), checks its SHA-256 and size, and
// reuses it afterwards.
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
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    damaged(path.basename(file) + ' cannot be read (' + e.message + ')');
  }
  return undefined;
}

// An unpacked binary is used only when it is complete: it is written to a
// temporary name and renamed, so one of the right size is the whole file.
function ready(file, size) {
  try {
    return fs.statSync(file).size === size;
  } catch (e) {
    return false;
  }
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
  brotli.on('end', () => finish(new Error('it ends ' + (entry.offset + entry.size - position) +
    ' bytes before the end of ' + entry.platform + '/' + entry.file)));
  brotli.on('error', finish);
  input.on('error', finish);
  input.pipe(brotli);
}

// Writes the binary to `file` through a temporary name in the same folder.
// Another step may have put it there first (on Windows a running .exe
// cannot be replaced); a complete file is as good as ours.
function install(data, file) {
  const temporary = file + '.' + process.pid + '.tmp';
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(temporary, data, { mode: 0o755 });
    // The umask may have taken the executable bits away.
    fs.chmodSync(temporary, 0o755);
    try {
      fs.renameSync(temporary, file);
    } catch (e) {
      if (!ready(file, data.length)) {
        throw e;
      }
    }
  } finally {
    try {
      fs.unlinkSync(temporary);
    } catch (e) {
      // Renamed, or never written.
    }
  }
}

function run(name, exe) {
  const child = childProcess.spawn(exe, process.argv.slice(2), { stdio: 'inherit', env: process.env, windowsHide: true });
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

function main() {
  const dir = __dirname;
  const name = readJson(path.join(dir, 'task.json')).name;
  const index = readJson(path.join(dir, 'bin', 'binaries.json'));
  if (!index || !Array.isArray(index.binaries) || typeof index.archive !== 'string') {
    damaged('bin/binaries.json lists no binaries');
  }
  const os = OS[process.platform];
  const arch = ARCH[process.arch];
  const platform = (os || process.platform) + '-' + (arch || process.arch);
  const entry = index.binaries.find((b) => b.platform === platform);
  if (!os || !arch || !entry) {
    const shipped = index.binaries.map((b) => b.platform).join(', ') || 'none';
    fail('The ' + name + ' task has no binary for this agent\'s platform, ' + platform +
      ' (this package has: ' + shipped + '). Run the job on an agent with one of those platforms.');
  }

  if (typeof entry.file !== 'string' || !Number.isSafeInteger(entry.offset) || !Number.isSafeInteger(entry.size) ||
    !/^[0-9a-f]{64}$/.test(String(entry.sha256))) {
    damaged('bin/binaries.json has no file, offset, size and SHA-256 for ' + platform);
  }

  // The task folder first; a read-only one (a container job with
  // mountReadOnly tasks) falls back to the job's temporary folder, under a
  // name that changes with the binary.
  const places = [path.join(dir, 'bin', platform, entry.file)];
  if (process.env.AGENT_TEMPDIRECTORY) {
    places.push(path.join(process.env.AGENT_TEMPDIRECTORY, 'azp-aws-tasks', entry.sha256.slice(0, 16), entry.file));
  }
  const found = places.find((p) => ready(p, entry.size));
  if (found) {
    run(name, found);
    return;
  }
  extract(path.join(dir, 'bin', index.archive), entry, (error, data) => {
    if (error) {
      damaged('bin/' + index.archive + ' cannot be unpacked (' + error.message + ')');
    }
    const digest = crypto.createHash('sha256').update(data).digest('hex');
    if (digest !== entry.sha256) {
      damaged('the ' + platform + ' binary unpacked from bin/' + index.archive + ' has SHA-256 ' +
        digest + ', not the ' + entry.sha256 + ' listed in bin/binaries.json');
    }
    const problems = [];
    for (const place of places) {
      try {
        install(data, place);
        run(name, place);
        return;
      } catch (e) {
        problems.push(e.message);
      }
    }
    fail('The ' + name + ' task could not unpack its ' + platform + ' binary: ' + problems.join('; ') +
      '. The agent\'s task folder or its temporary folder (Agent.TempDirectory) must be writable.');
  });
}

main();
