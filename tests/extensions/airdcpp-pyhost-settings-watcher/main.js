'use strict';
// Defines settings of the kinds AirDC++ knows and reports every change of their values as
// an event log message ("settings-watcher: {...}") and a line on stdout (output.log).
const SettingsManager = require('airdcpp-extension-settings');

const definitions = [
  { key: 'greeting', title: 'Greeting', type: 'string', default_value: 'hello' },
  { key: 'interval', title: 'Interval (s)', type: 'number', default_value: 10, min: 1, max: 3600 },
  { key: 'enabled', title: 'Enabled', type: 'boolean', default_value: true },
  { key: 'notes', title: 'Notes', type: 'text', optional: true, default_value: '' },
  { key: 'mode', title: 'Mode', type: 'string', default_value: 'fast',
    options: [{ id: 'fast', name: 'Fast' }, { id: 'slow', name: 'Slow' }] },
  { key: 'tags', title: 'Tags', type: 'list', item_type: 'string', optional: true, default_value: [] },
  {
    key: 'rules', title: 'Rules', type: 'list', item_type: 'struct', optional: true, default_value: [],
    definitions: [
      { key: 'pattern', title: 'Pattern', type: 'string', default_value: '*' },
      { key: 'weight', title: 'Weight', type: 'number', default_value: 1, min: 0, max: 100 },
    ],
  },
];

module.exports = function (socket, extension) {
  const settings = SettingsManager(socket, {
    extensionName: extension.name,
    configFile: extension.configPath + 'config.json',
    configVersion: 1,
    definitions,
  });

  const report = (what, values) => {
    const text = `settings-watcher ${what}: ${JSON.stringify(values)}`;
    console.log(text);
    return socket.post('events', { text, severity: 'info' })
      .catch((e) => console.error(`event failed: ${e.message}`));
  };

  settings.onValuesUpdated = (values) => report('values', values);

  extension.onStart = async () => {
    await settings.load();
    await report('loaded', settings.getValues());
  };
};
