/*
 * A small C++ wrapper over the plugin tables, written the way the official DC plugin SDK's
 * C++ helpers use them (Util, Config): every DCUtils conversion sizes a std::string with a
 * hint and shrinks it to the count the host returns,
 *     res.resize(hint); res.resize(utils->to_utf8(&res[0], src, hint));
 * and every config value is read, copied into a std::string or a number, and released.
 * The conformance plugin (conformance_cpp.cpp) checks the host's facts through it.
 */
#ifndef PYHOST_TEST_SDK_STYLE_H
#define PYHOST_TEST_SDK_STYLE_H

#include <cstdint>
#include <string>

#include "dcplugin.h"

namespace sdk {

class Util {
public:
    static DCUtilsPtr utils;

    static std::string toUtf8(const std::string& str)
    {
        std::string res;
        size_t hint = str.size() * 2;  // a Latin-1 byte is at most 2 UTF-8 bytes
        res.resize(hint);
        res.resize(utils->to_utf8(&res[0], str.c_str(), hint));
        return res;
    }

    static std::string fromUtf8(const std::string& str)
    {
        std::string res;
        size_t hint = str.size();
        res.resize(hint);
        res.resize(utils->from_utf8(&res[0], str.c_str(), hint));
        return res;
    }

    static std::wstring utf8ToWide(const std::string& str)
    {
        std::wstring res;
        size_t hint = str.size();
        res.resize(hint);
        res.resize(utils->utf8_to_wcs(&res[0], str.c_str(), hint));
        return res;
    }

    static std::string wideToUtf8(const std::wstring& str)
    {
        std::string res;
        size_t hint = str.size() * 4;
        res.resize(hint);
        res.resize(utils->wcs_to_utf8(&res[0], str.c_str(), hint));
        return res;
    }

    static std::string toBase32(const uint8_t* src, size_t len)
    {
        std::string res;
        res.resize(len * 8 / 5 + 1);
        res.resize(utils->to_base32(&res[0], src, len));
        return res;
    }

    static void fromBase32(const char* src, uint8_t* dst, size_t len)
    {
        utils->from_base32(dst, src, len);
    }
};

class Config {
public:
    static DCConfigPtr config;
    static const char* guid;

    static void setConfig(const char* name, const char* value)
    {
        ConfigStr val = {CFG_TYPE_STRING, value};
        config->set_cfg(guid, name, reinterpret_cast<ConfigValuePtr>(&val));
    }
    static void setConfig(const char* name, const std::string& value)
    {
        setConfig(name, value.c_str());
    }
    static void setConfig(const char* name, int32_t value)
    {
        ConfigInt val = {CFG_TYPE_INT, value};
        config->set_cfg(guid, name, reinterpret_cast<ConfigValuePtr>(&val));
    }
    static void setConfig(const char* name, bool value)
    {
        ConfigBool val = {CFG_TYPE_BOOL, value ? True : False};
        config->set_cfg(guid, name, reinterpret_cast<ConfigValuePtr>(&val));
    }
    static void setConfig(const char* name, int64_t value)
    {
        ConfigInt64 val = {CFG_TYPE_INT64, value};
        config->set_cfg(guid, name, reinterpret_cast<ConfigValuePtr>(&val));
    }
    static void removeConfig(const char* name)
    {
        ConfigValue val = {CFG_TYPE_REMOVE};
        config->set_cfg(guid, name, &val);
    }

    static std::string getConfig(const char* name)
    {
        auto value = reinterpret_cast<ConfigStrPtr>(config->get_cfg(guid, name, CFG_TYPE_STRING));
        std::string ret = value->value;
        config->release(reinterpret_cast<ConfigValuePtr>(value));
        return ret;
    }
    static int32_t getIntConfig(const char* name)
    {
        auto value = reinterpret_cast<ConfigIntPtr>(config->get_cfg(guid, name, CFG_TYPE_INT));
        auto ret = value->value;
        config->release(reinterpret_cast<ConfigValuePtr>(value));
        return ret;
    }
    static bool getBoolConfig(const char* name)
    {
        auto value = reinterpret_cast<ConfigBoolPtr>(config->get_cfg(guid, name, CFG_TYPE_BOOL));
        bool ret = value->value == True;
        config->release(reinterpret_cast<ConfigValuePtr>(value));
        return ret;
    }
    static int64_t getInt64Config(const char* name)
    {
        auto value =
            reinterpret_cast<ConfigInt64Ptr>(config->get_cfg(guid, name, CFG_TYPE_INT64));
        auto ret = value->value;
        config->release(reinterpret_cast<ConfigValuePtr>(value));
        return ret;
    }

    static std::string getPath(PathType type)
    {
        auto str = config->get_path(type);
        std::string ret = str->value;
        config->release(reinterpret_cast<ConfigValuePtr>(str));
        return ret;
    }
    static std::string getInstallPath()
    {
        auto str = config->get_install_path(guid);
        std::string ret = str->value;
        config->release(reinterpret_cast<ConfigValuePtr>(str));
        return ret;
    }
};

}  // namespace sdk

#endif
