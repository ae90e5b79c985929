'use strict';
const { ManagedExtension } = require('airdcpp-extension');

ManagedExtension(require('./main'), {});
