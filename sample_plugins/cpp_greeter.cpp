/*
 * cpp_greeter -- the C++ sample: the same shape as dev_plugin, written in idiomatic C++17.
 * Shows RAII over the C ABI (a Subscription that releases its hook in its destructor, a
 * Config wrapper that always gives ConfigValues back), a plugin object created on load and
 * destroyed on unload, and an extern "C" pluginInit. Exceptions are allowed inside the plugin
 * but never cross the C ABI: every DCAPI function catches everything and returns False.
 *
 * Behaviour the tests rely on:
 *   - a load state fails (False) if DCHooks 8, DCConfig 1 or DCLog 1 is missing or the bind
 *     fails; otherwise it logs "C++ greeter loaded" and binds dcpp.ui.onChatCommand.
 *   - dcpp.ui.onChatCommand (HubData* / CommandData*): for the command "hello" increments INT
 *     setting "greetings" (under this plugin's guid) and returns True (handled); any other
 *     command returns False.
 *   - ON_UNLOAD / ON_UNINSTALL destroy the plugin object (releasing the subscription), log
 *     "C++ greeter unloading", and return True.
 */
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "dcplugin.h"

namespace {

constexpr const char* kGuid = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000011}";

/* One hook subscription; released when the object goes away. Move-only. */
class Subscription {
public:
    Subscription() = default;
    Subscription(DCHooksPtr hooks, const char* hook, DCHOOK proc, void* common = nullptr)
        : hooks_(hooks), handle_(hooks->bind_hook(hook, proc, common)) {}
    ~Subscription() { reset(); }

    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    Subscription(Subscription&& other) noexcept
        : hooks_(other.hooks_), handle_(std::exchange(other.handle_, nullptr)) {}
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            reset();
            hooks_ = other.hooks_;
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }

    void reset() noexcept {
        if (handle_)
            hooks_->release_hook(handle_);
        handle_ = nullptr;
    }

private:
    DCHooksPtr hooks_ = nullptr;
    subsHandle handle_ = nullptr;
};

/* This plugin's settings. Every value the host returns is released on every path. */
class Config {
public:
    Config(DCConfigPtr config, const char* guid) : config_(config), guid_(guid) {}

    std::string get_string(const char* setting) const {
        auto value = get(setting, CFG_TYPE_STRING);
        if (!value || value->type != CFG_TYPE_STRING)
            return {};
        const char* text = reinterpret_cast<ConfigStrPtr>(value.get())->value;
        return text ? std::string(text) : std::string();
    }

    int32_t get_int(const char* setting) const {
        auto value = get(setting, CFG_TYPE_INT);
        if (!value || value->type != CFG_TYPE_INT)
            return 0;
        return reinterpret_cast<ConfigIntPtr>(value.get())->value;
    }

    int64_t get_int64(const char* setting) const {
        auto value = get(setting, CFG_TYPE_INT64);
        if (!value || value->type != CFG_TYPE_INT64)
            return 0;
        return reinterpret_cast<ConfigInt64Ptr>(value.get())->value;
    }

    void set_string(const char* setting, const std::string& v) const {
        ConfigStr value{CFG_TYPE_STRING, v.c_str()};
        config_->set_cfg(guid_, setting, reinterpret_cast<ConfigValuePtr>(&value));
    }

    void set_int(const char* setting, int32_t v) const {
        ConfigInt value{CFG_TYPE_INT, v};
        config_->set_cfg(guid_, setting, reinterpret_cast<ConfigValuePtr>(&value));
    }

    void set_int64(const char* setting, int64_t v) const {
        ConfigInt64 value{CFG_TYPE_INT64, v};
        config_->set_cfg(guid_, setting, reinterpret_cast<ConfigValuePtr>(&value));
    }

private:
    struct Release {
        DCConfigPtr config;
        void operator()(ConfigValuePtr value) const noexcept { config->release(value); }
    };
    using Value = std::unique_ptr<ConfigValue, Release>;

    Value get(const char* setting, ConfigType type) const {
        return Value(config_->get_cfg(guid_, setting, type), Release{config_});
    }

    DCConfigPtr config_;
    const char* guid_;
};

class Greeter {
public:
    /* Returns nullptr when a required interface is missing or the hook cannot be bound. */
    static std::unique_ptr<Greeter> create(DCCorePtr core) {
        auto hooks = static_cast<DCHooksPtr>(
            static_cast<void*>(core->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER)));
        auto config = static_cast<DCConfigPtr>(
            static_cast<void*>(core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER)));
        auto log = static_cast<DCLogPtr>(
            static_cast<void*>(core->query_interface(DCINTF_LOGGING, DCINTF_LOGGING_VER)));
        if (!hooks || !config || !log)
            return nullptr;
        std::unique_ptr<Greeter> greeter(new Greeter(config, log));
        greeter->on_command_ =
            Subscription(hooks, HOOK_UI_PROCESS_CHAT_CMD, &Greeter::on_chat_command,
                         greeter.get());
        if (!greeter->on_command_)
            return nullptr;
        greeter->loaded_ = true;
        greeter->log("C++ greeter loaded");
        return greeter;
    }

    ~Greeter() {
        on_command_.reset();
        if (loaded_)
            log("C++ greeter unloading");
    }

    Greeter(const Greeter&) = delete;
    Greeter& operator=(const Greeter&) = delete;

private:
    Greeter(DCConfigPtr config, DCLogPtr log) : config_(config, kGuid), log_(log) {}

    void log(const char* message) const noexcept { log_->log(message); }

    bool handle(const CommandData& command) {
        if (!command.command || std::strcmp(command.command, "hello") != 0)
            return false;
        config_.set_int("greetings", config_.get_int("greetings") + 1);
        return true;
    }

    static Bool DCAPI on_chat_command(dcptr_t object, dcptr_t data, dcptr_t common,
                                      Bool* bBreak) {
        (void)object; /* HubData* */
        (void)bBreak;
        try {
            auto* self = static_cast<Greeter*>(common);
            auto* command = static_cast<CommandDataPtr>(data);
            if (!self || !command)
                return False;
            return self->handle(*command) ? True : False;
        } catch (...) {
            return False;
        }
    }

    Config config_;
    DCLogPtr log_;
    Subscription on_command_;
    bool loaded_ = false;
};

std::unique_ptr<Greeter> instance;

Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data) {
    (void)data;
    try {
        switch (state) {
        case ON_INSTALL:
        case ON_LOAD:
        case ON_LOAD_RUNTIME:
            instance = Greeter::create(core);
            return instance ? True : False;
        case ON_UNLOAD:
        case ON_UNINSTALL:
            instance.reset();
            return True;
        default:
            return True;
        }
    } catch (...) {
        return False;
    }
}

} // namespace

extern "C" DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info) {
    info->name = "C++ greeter";
    info->author = "pyhost developers";
    info->description = "C++17 sample: RAII subscriptions and settings, answers /hello";
    info->web = "https://example.invalid/pyhost";
    info->guid = kGuid;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
