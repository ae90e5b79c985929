'use strict';
// Runs a test extension unmanaged, as a developer would from a terminal: the official
// RemoteExtension wrapper logs in with a user, registers the extension (POST /extensions
// with its package.json) and runs the same entry code a managed process runs.
//   node run-remote.js <extension directory> <ws url> <username> <password> <data dir>
const path = require('path');
const { RemoteExtension } = require('airdcpp-extension');

const [dir, url, username, password, dataPath] = process.argv.slice(2);
const packageInfo = require(path.resolve(dir, 'package.json'));

RemoteExtension(
  require(path.resolve(dir, 'main.js')),
  { url, username, password, autoReconnect: false, logLevel: 'info' },
  { packageInfo, dataPath, nameSuffix: '-remote' },
);
