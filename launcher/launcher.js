// Starts a task's native binary for the Azure Pipelines agent.
//
// The agent runs only Node (or PowerShell) handlers on Linux and macOS, so
// every task.json points its Node20_1 and Node24 handlers at this file. It
// is copied into every task folder when the extension is packaged, and must
// stay free of dependencies: loading azure-pipelines-task-lib would delete
// the task's inputs, endpoints and secrets from the environment before the
// binary could read them.
//
// It runs bin/<os>-<arch>/<task name>[.exe] next to it with the unchanged
// environment and inherited stdio, forwards SIGINT and SIGTERM on Linux and
// macOS (the agent signals only this node process when a pipeline is
// cancelled), and exits with the binary's exit code.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

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

function taskName(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8')).name;
  } catch (e) {
    fail('The task package is damaged: its task.json cannot be read (' + e.message + '). Reinstall the extension.');
  }
  return undefined;
}

function main() {
  const dir = __dirname;
  const name = taskName(dir);
  const os = OS[process.platform];
  const arch = ARCH[process.arch];
  const platform = (os || process.platform) + '-' + (arch || process.arch);
  const exe = path.join(dir, 'bin', platform, name + (process.platform === 'win32' ? '.exe' : ''));
  if (!os || !arch || !fs.existsSync(exe)) {
    const shipped = fs.existsSync(path.join(dir, 'bin')) ? fs.readdirSync(path.join(dir, 'bin')).join(', ') : 'none';
    fail('The ' + name + ' task has no binary for this agent\'s platform, ' + platform +
      ' (this package has: ' + shipped + '). Run the job on an agent with one of those platforms.');
  }
  if (process.platform !== 'win32') {
    // Packaging does not reliably keep the executable bit.
    try {
      fs.chmodSync(exe, 0o755);
    } catch (e) {
      // Read-only task folders may already be executable; spawning will tell.
    }
  }

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

main();
