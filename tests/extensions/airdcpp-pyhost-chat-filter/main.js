'use strict';
// Rejects incoming hub and private chat containing one of the words of the setting
// "filtered_words" (operators' messages pass when "skip_op" is set; our own always pass),
// and answers "/filter status", "/filter add WORD" and "/filter remove WORD" typed in a
// chat window with a status message in that window. It also adds "Show the chat filter" to
// the hub menu (the official library's context menu helper).
const SettingsManager = require('airdcpp-extension-settings');
const { addContextMenuItems } = require('airdcpp-apisocket');

const definitions = [
  {
    key: 'filtered_words',
    title: 'Filtered words',
    type: 'list',
    item_type: 'string',
    optional: true,
    default_value: ['badword'],
  }, {
    key: 'skip_op',
    title: "Don't filter messages of operators",
    type: 'boolean',
    default_value: true,
  },
];

module.exports = function (socket, extension) {
  const settings = SettingsManager(socket, {
    extensionName: extension.name,
    configFile: extension.configPath + 'config.json',
    configVersion: 1,
    definitions,
  });

  const mayFilter = (user) => {
    if (!user || user.flags.indexOf('self') !== -1) {
      return false;
    }
    return !(settings.getValue('skip_op') && user.flags.indexOf('op') !== -1);
  };

  const onIncoming = (message, accept, reject) => {
    if (mayFilter(message.from)) {
      const word = settings.getValue('filtered_words').find((w) => message.text.indexOf(w) !== -1);
      if (word) {
        reject('filtered', `contains "${word}"`);
        return;
      }
    }
    accept();
  };

  const answer = (args) => {
    const words = settings.getValue('filtered_words');
    switch (args[0]) {
      case 'status':
        return `Chat filter: ${words.length} word(s): ${words.join(', ')}`;
      case 'add':
        if (args.length < 2) return 'Chat filter: add what?';
        settings.setValue('filtered_words', [...words, args[1]]);
        return `Chat filter: "${args[1]}" added`;
      case 'remove':
        settings.setValue('filtered_words', words.filter((w) => w !== args[1]));
        return `Chat filter: "${args[1]}" removed`;
      default:
        return 'Chat filter: /filter status | add WORD | remove WORD';
    }
  };

  const onCommand = (type, data, entityId) => {
    if (data.command !== 'filter') {
      return;
    }
    socket.post(`${type}/${entityId}/status_message`, {
      text: answer(data.args),
      severity: 'info',
    }).catch((e) => console.error(`status message failed: ${e.message}`));
  };

  extension.onStart = async (sessionInfo) => {
    if (sessionInfo.system_info.api_feature_level < 6) {
      throw new Error('API feature level 6 is needed');
    }
    await settings.load();
    const subscriber = { id: 'pyhost_chat_filter', name: 'pyhost chat filter' };
    await socket.addHook('hubs', 'hub_incoming_message_hook', onIncoming, subscriber);
    await socket.addHook('private_chat', 'private_chat_incoming_message_hook', onIncoming, subscriber);
    await socket.addListener('hubs', 'hub_text_command', onCommand.bind(null, 'hubs'));
    await socket.addListener('private_chat', 'private_chat_text_command', onCommand.bind(null, 'private_chat'));
    await addContextMenuItems(socket, [{
      id: 'filter_status',
      title: 'Show the chat filter',
      icon: { semantic: 'filter' },
      onClick: (hubIds) => hubIds.forEach((id) => onCommand('hubs', { command: 'filter', args: ['status'] }, id)),
    }], 'hub', subscriber);
    console.log(`chat filter ready, words: ${settings.getValue('filtered_words').join(', ')}`);
  };
};
