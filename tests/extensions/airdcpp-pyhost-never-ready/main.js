'use strict';
// The wrapper signals ready when onStart resolves; this one never does, so the application's
// start-up has to go on without it once its timeout has passed.
module.exports = function (socket, extension) {
  extension.onStart = () => {
    console.log('never ready: connected, not signalling');
    return new Promise(() => {});
  };
};
