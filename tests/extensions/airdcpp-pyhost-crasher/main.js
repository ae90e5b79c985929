'use strict';
// "/crash" typed in a hub window: throws from the listener (node exits with code 1 and the
// stack on stderr). "/restartme": exits with 75, AirDC++'s "restart me" code.
module.exports = function (socket, extension) {
  extension.onStart = async () => {
    await socket.addListener('hubs', 'hub_text_command', (data) => {
      if (data.command === 'crash') {
        setImmediate(() => { throw new Error('crash requested in chat'); });
      } else if (data.command === 'restartme') {
        console.error('restart requested in chat');
        process.exit(75);
      }
    });
    console.log(`crasher started (pid ${process.pid})`);
  };
};
