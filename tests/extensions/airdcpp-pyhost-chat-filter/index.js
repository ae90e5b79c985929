'use strict';
// Launched by the application with AirDC++'s startup arguments; the official wrapper connects
// with --apiUrl and --authToken, runs main.js and signals ready (--signalReady) after onStart.
const { ManagedExtension } = require('airdcpp-extension');

ManagedExtension(require('./main'), {});
