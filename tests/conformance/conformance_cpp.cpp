/*
 * The C++ conformance plugin: each fact of the reference host's semantics that a C++ plugin
 * sees through an SDK-style wrapper (sdk_style.h) is one check, run when the test fires the
 * hook "pyhost.test.conformance" with data = a char[1024] holding "cpp.<fact>". The plugin
 * writes "ok", or the failed expectations, back into that buffer and returns True.
 * Isolated (in a runner process, where that buffer does not cross), the test fires
 * "pyhost.test.conformance.display" instead: StringData, in = the fact, out = the answer.
 *
 * Built by tests/test_conformance.py with g++ against sdk_headers/ only.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "dcplugin.h"
#include "sdk_style.h"

#define PLUGIN_GUID "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c1}"
#define DRIVER_HOOK "pyhost.test.conformance"
#define DRIVER_HOOK_ACROSS "pyhost.test.conformance.display"

DCUtilsPtr sdk::Util::utils = nullptr;
DCConfigPtr sdk::Config::config = nullptr;
const char* sdk::Config::guid = PLUGIN_GUID;

namespace {

DCCorePtr core = nullptr;
DCHooksPtr hooks = nullptr;
subsHandle driver = nullptr;
subsHandle driver_across = nullptr;

struct Report {
    std::string text;
    void fail(int line, const char* what, const std::string& detail = "")
    {
        char head[64];
        std::snprintf(head, sizeof head, "line %d: ", line);
        text += head;
        text += what;
        if (!detail.empty())
            text += " [" + detail + "]";
        text += "; ";
    }
};

#define EXPECT(cond) \
    do { \
        if (!(cond)) \
            r.fail(__LINE__, #cond); \
    } while (0)
#define EXPECT_EQ(a, b) \
    do { \
        if (!((a) == (b))) \
            r.fail(__LINE__, #a " == " #b, show(a) + " vs " + show(b)); \
    } while (0)

std::string show(const std::string& s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        char buf[8];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out += static_cast<char>(c);
        } else {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out + "\"";
}
std::string show(long long v) { return std::to_string(v); }
std::string show(size_t v) { return std::to_string(v); }
std::string show(int v) { return std::to_string(v); }
std::string show(bool v) { return v ? "true" : "false"; }
std::string show(const std::wstring& w)
{
    std::string out;
    for (wchar_t c : w)
        out += std::to_string(static_cast<unsigned long>(c)) + " ";
    return out;
}

// ---- DCUtils through the wrapper ---------------------------------------------------------

void utils_conversions_leave_no_nul(Report& r)
{
    using sdk::Util;
    std::string abc = Util::toUtf8("abc");
    EXPECT_EQ(abc.size(), size_t(3));           // the reference: 3, no embedded NUL
    EXPECT_EQ(abc, std::string("abc"));
    EXPECT_EQ(Util::toUtf8("caf\xe9"), std::string("caf\xc3\xa9"));
    EXPECT_EQ(Util::fromUtf8("caf\xc3\xa9"), std::string("caf\xe9"));
    // a path converted, then appended to: c_str() must show the whole path
    std::string dir = Util::fromUtf8("/home/u/scripts/");
    std::string file = dir + "startup.lua";
    EXPECT_EQ(std::string(file.c_str()), std::string("/home/u/scripts/startup.lua"));
    std::wstring wide = Util::utf8ToWide("a\xc3\xa9\xe2\x82\xac");
    EXPECT_EQ(wide, std::wstring(L"a\u00e9\u20ac"));
    EXPECT_EQ(Util::wideToUtf8(L"a\u00e9\u20ac"), std::string("a\xc3\xa9\xe2\x82\xac"));
    EXPECT_EQ(Util::toUtf8(""), std::string());
}

void utils_conversions_copy_min_of_len_and_n(Report& r)
{
    DCUtilsPtr u = sdk::Util::utils;
    for (size_t n = 0; n <= 6; n++) {
        char buf[16];
        std::memset(buf, 'X', sizeof buf);
        size_t want = n < 4 ? n : 4;  // "ab" + "é" in UTF-8 is 4 bytes
        size_t got = u->to_utf8(buf, "ab\xe9", n);
        EXPECT_EQ(got, want);
        EXPECT(std::memcmp(buf, "ab\xc3\xa9", want) == 0);
        EXPECT(buf[want] == 'X');   // no NUL, nothing after the copied elements
        wchar_t wbuf[8];
        for (auto& w : wbuf)
            w = L'X';
        size_t wwant = n < 3 ? n : 3;
        EXPECT_EQ(u->utf8_to_wcs(wbuf, "ab\xc3\xa9", n), wwant);
        EXPECT(wbuf[wwant] == L'X');
    }
    // a multi-byte character is cut when n ends inside it, as strncpy does
    char cut[4] = {'X', 'X', 'X', 'X'};
    EXPECT_EQ(u->wcs_to_utf8(cut, L"\u20ac", 2), size_t(2));
    EXPECT(cut[0] == '\xe2' && cut[1] == '\x82' && cut[2] == 'X');
}

void utils_from_base32_fills_n_bytes(Report& r)
{
    // the TTH of the empty file, 39 characters -> 24 bytes
    const char* tth = "LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ";
    static const uint8_t want[24] = {0x5d, 0x9e, 0xd0, 0x0a, 0x03, 0x0e, 0x63, 0x8b,
                                     0xdb, 0x75, 0x3a, 0x6a, 0x24, 0xfb, 0x90, 0x0e,
                                     0x5a, 0x63, 0xb8, 0xe7, 0x3e, 0x6c, 0x25, 0xb6};
    uint8_t out[26];
    std::memset(out, 0xAA, sizeof out);
    EXPECT_EQ(sdk::Util::utils->from_base32(out, tth, 24), size_t(24));
    EXPECT(std::memcmp(out, want, 24) == 0);
    EXPECT(out[24] == 0xAA && out[25] == 0xAA);
    std::memset(out, 0xAA, sizeof out);
    sdk::Util::fromBase32("lwpnacqdbzryxw3vhjvcj64qbznghohhhzwclnq", out, 24);  // lower case
    EXPECT(std::memcmp(out, want, 24) == 0);
    std::memset(out, 0xAA, sizeof out);
    sdk::Util::fromBase32("LWPN ACQD-BZRY=XW3V\nHJVC J64Q BZNG HOHH HZWC LNQ", out, 24);
    EXPECT(std::memcmp(out, want, 24) == 0);       // characters outside the alphabet skipped
    std::memset(out, 0xAA, sizeof out);
    EXPECT_EQ(sdk::Util::utils->from_base32(out, "MZXW6", 5), size_t(5));
    EXPECT(std::memcmp(out, "foo\0\0", 5) == 0);   // zero-filled first
    EXPECT(out[5] == 0xAA);
    std::memset(out, 0xAA, sizeof out);
    EXPECT_EQ(sdk::Util::utils->from_base32(out, "MZXW6YTBOI", 2), size_t(2));
    EXPECT(std::memcmp(out, "fo", 2) == 0 && out[2] == 0xAA);
}

void utils_to_base32_returns_the_length_only(Report& r)
{
    uint8_t digest[24];
    for (int i = 0; i < 24; i++)
        digest[i] = static_cast<uint8_t>(i * 7);
    std::string text = sdk::Util::toBase32(digest, 24);
    EXPECT_EQ(text.size(), size_t(39));
    EXPECT(text == std::string(39, '\0'));          // the reference never copies for n > 0
    char buf[48];
    std::memset(buf, 'X', sizeof buf);
    EXPECT_EQ(sdk::Util::utils->to_base32(buf, digest, 24), size_t(39));
    EXPECT(std::string(buf, sizeof buf) == std::string(sizeof buf, 'X'));
    EXPECT_EQ(sdk::Util::utils->to_base32(buf, digest, 0), size_t(0));
    EXPECT_EQ(sdk::Util::utils->to_base32(buf, digest, 5), size_t(8));
}

// ---- DCConfig through the wrapper --------------------------------------------------------

void config_stores_text(Report& r)
{
    using sdk::Config;
    Config::setConfig("s", "x");
    Config::setConfig("i", int32_t(-42));
    Config::setConfig("t", true);
    Config::setConfig("f", false);
    Config::setConfig("l", int64_t(1) << 40);
    Config::setConfig("n", static_cast<const char*>(nullptr));   // NULL is stored as ""
    EXPECT_EQ(Config::getConfig("s"), std::string("x"));
    EXPECT_EQ(Config::getConfig("i"), std::string("-42"));
    EXPECT_EQ(Config::getConfig("t"), std::string("1"));
    EXPECT_EQ(Config::getConfig("f"), std::string("0"));
    EXPECT_EQ(Config::getConfig("l"), std::string("1099511627776"));
    EXPECT_EQ(Config::getConfig("n"), std::string());
    Config::removeConfig("s");
    EXPECT_EQ(Config::getConfig("s"), std::string());
}

void config_converts_the_text(Report& r)
{
    using sdk::Config;
    EXPECT_EQ(Config::getBoolConfig("never.set"), true);     // "" != "0"
    EXPECT_EQ(Config::getIntConfig("never.set"), 0);
    EXPECT_EQ((long long)Config::getInt64Config("never.set"), 0LL);
    Config::setConfig("v", "false");
    EXPECT_EQ(Config::getBoolConfig("v"), true);             // "false" != "0"
    Config::setConfig("v", "0");
    EXPECT_EQ(Config::getBoolConfig("v"), false);
    Config::setConfig("v", "  17 apples");
    EXPECT_EQ(Config::getIntConfig("v"), 17);                // atoi
    EXPECT_EQ((long long)Config::getInt64Config("v"), 17LL); // strtoll
    Config::setConfig("v", "4294967297");
    EXPECT_EQ(Config::getIntConfig("v"), 1);                 // atoi keeps the low 32 bits
    EXPECT_EQ((long long)Config::getInt64Config("v"), 4294967297LL);
    Config::setConfig("v", "99999999999999999999");
    EXPECT_EQ((long long)Config::getInt64Config("v"), 9223372036854775807LL);  // clamped
    Config::setConfig("v", "abc");
    EXPECT_EQ(Config::getIntConfig("v"), 0);
    Config::setConfig("v", int32_t(7));
    EXPECT_EQ(Config::getBoolConfig("v"), true);
    Config::setConfig("v", false);
    EXPECT_EQ(Config::getIntConfig("v"), 0);
}

// Odd texts read back as INT / INT64 / BOOL / STRING: the oracle is this plugin's own C
// library (atoi, strtoll(s, NULL, 10), s != "0"), exactly what the reference calls.
void config_odd_texts_convert_like_the_c_library(Report& r)
{
    using sdk::Config;
    static const char* const texts[] = {
        " 12abc", "-0", "+0", "00", "0 ", " 0", "+-3", "- 3", "0x1A", "1e3", "12.9",
        "\t\n\v\f\r-8", "2147483647", "2147483648", "-2147483648", "-2147483649",
        "4294967296", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "99999999999999999999",
        "-99999999999999999999", "abc", "", "true", "false", "1", "-1"};
    for (const char* text : texts) {
        Config::setConfig("odd", text);
        EXPECT_EQ(Config::getConfig("odd"), std::string(text));
        EXPECT_EQ(Config::getIntConfig("odd"), static_cast<int32_t>(std::atoi(text)));
        EXPECT_EQ((long long)Config::getInt64Config("odd"), std::strtoll(text, nullptr, 10));
        EXPECT_EQ(Config::getBoolConfig("odd"), std::strcmp(text, "0") != 0);
    }
    Config::setConfig("odd", "-0");                         // not "0": a BOOL reads True
    EXPECT_EQ(Config::getBoolConfig("odd"), true);
    EXPECT_EQ(Config::getIntConfig("odd"), 0);
    Config::setConfig("odd", " 12abc");
    EXPECT_EQ(Config::getIntConfig("odd"), 12);
    EXPECT_EQ((long long)Config::getInt64Config("odd"), 12LL);
    Config::setConfig("odd", "-99999999999999999999");      // strtoll clamps
    EXPECT_EQ((long long)Config::getInt64Config("odd"), (long long)INT64_MIN);
    Config::removeConfig("odd");
    EXPECT_EQ(Config::getBoolConfig("odd"), true);          // missing: "" != "0"
}

void config_ignores_guids_that_are_not_installed(Report& r)
{
    ConfigStr val = {CFG_TYPE_STRING, "intruder"};
    sdk::Config::config->set_cfg("{not-an-installed-plugin}", "k",
                                 reinterpret_cast<ConfigValuePtr>(&val));
    auto got = reinterpret_cast<ConfigStrPtr>(
        sdk::Config::config->get_cfg("{not-an-installed-plugin}", "k", CFG_TYPE_STRING));
    EXPECT(got && std::string(got->value).empty());
    sdk::Config::config->release(reinterpret_cast<ConfigValuePtr>(got));
}

void config_core_setup_in_its_own_type(Report& r)
{
    DCConfigPtr c = sdk::Config::config;
    ConfigValuePtr nick = c->get_cfg("CoreSetup", "Nick", CFG_TYPE_INT);
    EXPECT(nick && nick->type == CFG_TYPE_STRING);
    if (nick)
        c->release(nick);
    ConfigValuePtr hubs = c->get_cfg("CoreSetup", "MaxHubs", CFG_TYPE_STRING);
    EXPECT(hubs && hubs->type == CFG_TYPE_INT);
    if (hubs)
        c->release(hubs);
    EXPECT(c->get_cfg("CoreSetup", "NoSuchSetting", CFG_TYPE_STRING) == nullptr);
    EXPECT(c->get_cfg("CoreSetup", "NoSuchSetting", CFG_TYPE_UNKNOWN) == nullptr);
}

void config_values_are_fresh_copies(Report& r)
{
    DCConfigPtr c = sdk::Config::config;
    sdk::Config::setConfig("copy", "text");
    ConfigValuePtr a = c->get_cfg(PLUGIN_GUID, "copy", CFG_TYPE_STRING);
    ConfigValuePtr b = c->get_cfg(PLUGIN_GUID, "copy", CFG_TYPE_STRING);
    ConfigValuePtr d = c->copy(a);
    EXPECT(a && b && d && a != b && d != a);
    c->release(a);  // b and d stay valid
    EXPECT_EQ(std::string(reinterpret_cast<ConfigStrPtr>(d)->value), std::string("text"));
    c->release(b);
    c->release(d);
}

void config_paths_are_absolute_with_a_separator(Report& r)
{
    for (PathType t : {PATH_GLOBAL_CONFIG, PATH_USER_CONFIG, PATH_USER_LOCAL, PATH_RESOURCES,
                       PATH_LOCALE}) {
        std::string p = sdk::Config::getPath(t);
        EXPECT(!p.empty() && p.front() == '/' && p.back() == '/');
    }
    std::string install = sdk::Config::getInstallPath();
    EXPECT(!install.empty() && install.front() == '/' && install.back() == '/');
}

// ---- interfaces --------------------------------------------------------------------------

struct TestIntf {
    uint32_t apiVersion;
    int (DCAPI* answer)(void);
};
int DCAPI answer_42() { return 42; }
int DCAPI answer_7() { return 7; }

void interfaces_first_wins_and_version_checked(Report& r)
{
    static TestIntf first = {2, answer_42};
    static TestIntf second = {5, answer_7};
    intfHandle h = core->register_interface("test.conformance.Intf", &first);
    EXPECT(h != nullptr && h != static_cast<void*>(&first));  // a handle, not the table
    EXPECT(core->register_interface("test.conformance.Intf", &second) == nullptr);
    EXPECT(core->query_interface("test.conformance.Intf", 1) ==
           reinterpret_cast<DCInterfacePtr>(&first));
    EXPECT(core->query_interface("test.conformance.Intf", 2) ==
           reinterpret_cast<DCInterfacePtr>(&first));
    EXPECT(core->query_interface("test.conformance.Intf", 3) == nullptr);  // newer: NULL
    EXPECT(core->query_interface("test.conformance.Nothing", 1) == nullptr);
    // only the registered table's handle removes it
    intfHandle other = core->register_interface("test.conformance.Other", &second);
    EXPECT(core->release_interface(other) == True);
    EXPECT(core->query_interface("test.conformance.Intf", 1) != nullptr);
    EXPECT(core->release_interface(h) == True);
    EXPECT(core->query_interface("test.conformance.Intf", 1) == nullptr);
}

// Holds "test.conformance.Held" (a table nobody describes) until cpp.interfaces.unhold: the
// test checks that nobody else can register that guid meanwhile, in or out of process.
intfHandle held = nullptr;
void interfaces_hold(Report& r)
{
    static TestIntf table = {1, answer_42};
    held = core->register_interface("test.conformance.Held", &table);
    EXPECT(held != nullptr);
    EXPECT(core->register_interface("test.conformance.Held", &table) == nullptr);
}
void interfaces_unhold(Report& r)
{
    EXPECT(core->release_interface(held) == True);
    held = nullptr;
}

// Each standard interface answers at its version and below, and NULL for a newer one,
// whether the host keeps it per plugin (DCHooks, DCLog, DCConfig) or in the registry.
void interfaces_standard_tables_check_the_version(Report& r)
{
    static const struct {
        const char* guid;
        uint32_t version;
    } standard[] = {
        {DCINTF_HOOKS, DCINTF_HOOKS_VER},         {DCINTF_CONFIG, DCINTF_CONFIG_VER},
        {DCINTF_LOGGING, DCINTF_LOGGING_VER},     {DCINTF_DCPP_UTILS, DCINTF_DCPP_UTILS_VER},
        {DCINTF_DCPP_HUBS, DCINTF_DCPP_HUBS_VER}, {DCINTF_DCPP_CONNECTIONS, DCINTF_DCPP_CONNECTIONS_VER},
        {DCINTF_DCPP_QUEUE, DCINTF_DCPP_QUEUE_VER}, {DCINTF_DCPP_TAGGER, DCINTF_DCPP_TAGGER_VER},
        {DCINTF_DCPP_UI, DCINTF_DCPP_UI_VER},     {DCINTF_DCPP_DATAACCESSOR, DCINTF_DCPP_DATAACCESSOR_VER},
    };
    for (const auto& s : standard) {
        DCInterfacePtr at = core->query_interface(s.guid, s.version);
        if (!at) {
            r.fail(__LINE__, "no table at its own version", s.guid);
            continue;
        }
        EXPECT_EQ(size_t(at->apiVersion), size_t(s.version));
        if (core->query_interface(s.guid, 0) != at)
            r.fail(__LINE__, "an older version is not answered with the table", s.guid);
        if (core->query_interface(s.guid, s.version + 1) != nullptr)
            r.fail(__LINE__, "a newer version is answered", s.guid);
        if (core->query_interface(s.guid, UINT32_MAX) != nullptr)
            r.fail(__LINE__, "version UINT32_MAX is answered", s.guid);
        // the host registered it first: a plugin's registration of the guid is refused,
        // and a newer version still finds nothing
        static TestIntf impostor = {UINT32_MAX, answer_7};
        intfHandle h = core->register_interface(s.guid, &impostor);
        if (h != nullptr) {
            r.fail(__LINE__, "a plugin registered a standard guid", s.guid);
            core->release_interface(h);
        }
        if (core->query_interface(s.guid, s.version + 1) != nullptr)
            r.fail(__LINE__, "a newer version is answered after a registration", s.guid);
    }
    // pyhost's own DCRpc is a table per plugin too (like DCLog; NULL where a host has none,
    // as for an isolated plugin): its guid is the host's all the same
    static TestIntf impostor = {UINT32_MAX, answer_7};
    EXPECT(core->register_interface(DCINTF_PYHOST_RPC, &impostor) == nullptr);
    EXPECT(core->query_interface(DCINTF_PYHOST_RPC, DCINTF_PYHOST_RPC_VER + 1) == nullptr);
}

// ---- hooks -------------------------------------------------------------------------------

struct Trace {
    std::string calls;
    bool break_was_false = true;
};

// The fact came through the display driver: the plugin runs isolated, in a process of its
// own, where a hook nobody declared carries its data as NULL (a pointer means nothing in
// the host's process). So the subscribers record into `tracing`, and check that the data
// they get is what the run was given: &trace in the host's process, NULL across.
bool crossing = false;
Trace* tracing = nullptr;
bool data_as_given = true;

dcptr_t start_trace(Trace& t)
{
    tracing = &t;
    data_as_given = true;
    return crossing ? nullptr : &t;
}
Trace* traced(dcptr_t data)
{
    if (data != (crossing ? nullptr : static_cast<dcptr_t>(tracing)))
        data_as_given = false;
    return tracing;
}

Bool DCAPI sub_a(dcptr_t, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    Trace* t = traced(data);
    t->calls += static_cast<const char*>(common);
    t->break_was_false = t->break_was_false && *bBreak == False;
    return False;
}
Bool DCAPI sub_breaks(dcptr_t, dcptr_t data, dcptr_t, Bool* bBreak)
{
    traced(data)->calls += "B";
    *bBreak = True;
    return True;
}
Bool DCAPI sub_true(dcptr_t, dcptr_t data, dcptr_t, Bool*)
{
    traced(data)->calls += "T";
    return True;
}
Bool DCAPI def_proc(dcptr_t, dcptr_t data, dcptr_t, Bool*)
{
    traced(data)->calls += "D";
    return True;
}

void hooks_run_in_bind_order_with_break_and_default(Report& r)
{
    hookHandle h = hooks->create_hook("test.conformance.hook", def_proc);
    EXPECT(h != nullptr);
    EXPECT(hooks->create_hook("test.conformance.hook", nullptr) == nullptr);  // exists
    EXPECT(hooks->bind_hook("test.conformance.none", sub_a, nullptr) == nullptr);
    EXPECT_EQ(hooks->release_hook(nullptr), size_t(0));
    Trace t;
    dcptr_t d = start_trace(t);
    EXPECT(hooks->run_hook(h, nullptr, d) == True);   // no subscribers: the default
    EXPECT_EQ(t.calls, std::string("D"));
    subsHandle a = hooks->bind_hook("test.conformance.hook", sub_a, (void*)"A");
    subsHandle b = hooks->bind_hook("test.conformance.hook", sub_breaks, nullptr);
    subsHandle c = hooks->bind_hook("test.conformance.hook", sub_a, (void*)"C");
    t = Trace();
    EXPECT(hooks->run_hook(h, nullptr, d) == True);   // B returned True
    EXPECT_EQ(t.calls, std::string("AB"));             // C not called after the break
    t = Trace();
    hooks->run_hook(h, nullptr, d);
    EXPECT(t.break_was_false);                         // bBreak starts False every run
    EXPECT_EQ(hooks->release_hook(b), size_t(2));      // subscribers left
    t = Trace();
    EXPECT(hooks->run_hook(h, nullptr, d) == False);  // nobody returned True
    EXPECT_EQ(t.calls, std::string("AC"));             // and no default: there are subscribers
    subsHandle t_ = hooks->bind_hook("test.conformance.hook", sub_true, nullptr);
    t = Trace();
    EXPECT(hooks->run_hook(h, nullptr, d) == True);   // A False, C False, T True
    EXPECT_EQ(t.calls, std::string("ACT"));
    EXPECT_EQ(hooks->release_hook(a), size_t(2));
    t = Trace();
    EXPECT(hooks->run_hook(h, nullptr, d) == True);   // C False, T True: any, not the last
    EXPECT_EQ(hooks->release_hook(c), size_t(1));
    subsHandle c2 = hooks->bind_hook("test.conformance.hook", sub_a, (void*)"C");
    t = Trace();
    EXPECT(hooks->run_hook(h, nullptr, d) == True);   // T True, then C False: still True
    EXPECT_EQ(t.calls, std::string("TC"));
    EXPECT_EQ(hooks->release_hook(t_), size_t(1));
    EXPECT_EQ(hooks->release_hook(c2), size_t(0));
    t = Trace();
    EXPECT(hooks->run_hook(h, nullptr, d) == True);   // none left: the default again
    EXPECT_EQ(t.calls, std::string("D"));
    EXPECT(data_as_given);
    EXPECT(hooks->destroy_hook(h) == True);
}

void hooks_destroy_with_subscribers_kills_their_handles(Report& r)
{
    hookHandle h = hooks->create_hook("test.conformance.doomed", nullptr);
    subsHandle a = hooks->bind_hook("test.conformance.doomed", sub_a, (void*)"A");
    subsHandle b = hooks->bind_hook("test.conformance.doomed", sub_a, (void*)"B");
    EXPECT(h && a && b);
    EXPECT(hooks->destroy_hook(h) == True);
    EXPECT(hooks->bind_hook("test.conformance.doomed", sub_a, nullptr) == nullptr);
    EXPECT_EQ(hooks->release_hook(a), size_t(0));      // dead handles
    EXPECT_EQ(hooks->release_hook(b), size_t(0));
}

// ---- the driver --------------------------------------------------------------------------

const std::map<std::string, std::function<void(Report&)>>& facts()
{
    static const std::map<std::string, std::function<void(Report&)>> all = {
        {"cpp.utils.no_trailing_nul", utils_conversions_leave_no_nul},
        {"cpp.utils.copy_min_of_len_and_n", utils_conversions_copy_min_of_len_and_n},
        {"cpp.utils.from_base32", utils_from_base32_fills_n_bytes},
        {"cpp.utils.to_base32", utils_to_base32_returns_the_length_only},
        {"cpp.config.stores_text", config_stores_text},
        {"cpp.config.conversions", config_converts_the_text},
        {"cpp.config.odd_texts", config_odd_texts_convert_like_the_c_library},
        {"cpp.config.not_installed_ignored", config_ignores_guids_that_are_not_installed},
        {"cpp.config.core_setup", config_core_setup_in_its_own_type},
        {"cpp.config.fresh_copies", config_values_are_fresh_copies},
        {"cpp.config.paths", config_paths_are_absolute_with_a_separator},
        {"cpp.interfaces", interfaces_first_wins_and_version_checked},
        {"cpp.interfaces.standard", interfaces_standard_tables_check_the_version},
        {"cpp.interfaces.hold", interfaces_hold},
        {"cpp.interfaces.unhold", interfaces_unhold},
        {"cpp.hooks.run", hooks_run_in_bind_order_with_break_and_default},
        {"cpp.hooks.destroy", hooks_destroy_with_subscribers_kills_their_handles},
    };
    return all;
}

std::string answer(const char* fact, bool* known)
{
    auto found = facts().find(fact);
    *known = found != facts().end();
    if (!*known)
        return std::string();
    Report r;
    found->second(r);
    return r.text.empty() ? "ok" : r.text;
}

// The driver of an isolated plugin: data is a StringData, in = the fact, out = the answer
// (kept until the next fact: the plugin owns what it sets there).
Bool DCAPI on_fact_across(dcptr_t, dcptr_t data, dcptr_t, Bool*)
{
    static std::string kept;
    auto sd = static_cast<StringData*>(data);
    bool known = false;
    if (!sd || !sd->in)
        return False;
    crossing = true;
    kept = answer(sd->in, &known);
    crossing = false;
    if (!known)
        return False;
    sd->out = const_cast<char*>(kept.c_str());
    return True;
}

Bool DCAPI on_fact(dcptr_t, dcptr_t data, dcptr_t, Bool*)
{
    char* buffer = static_cast<char*>(data);
    if (!buffer)
        return False;  // isolated: this driver's data does not cross
    bool known = false;
    std::string out = answer(buffer, &known);
    if (!known)
        return False;  // another plugin's fact
    std::snprintf(buffer, 1024, "%s", out.c_str());
    return True;
}

Bool DCAPI plugin_main(PluginState state, DCCorePtr c, dcptr_t)
{
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        core = c;
        hooks = reinterpret_cast<DCHooksPtr>(c->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER));
        sdk::Util::utils = reinterpret_cast<DCUtilsPtr>(
            c->query_interface(DCINTF_DCPP_UTILS, DCINTF_DCPP_UTILS_VER));
        sdk::Config::config = reinterpret_cast<DCConfigPtr>(
            c->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER));
        if (!hooks || !sdk::Util::utils || !sdk::Config::config)
            return False;
        driver = hooks->bind_hook(DRIVER_HOOK, on_fact, nullptr);
        // only the isolated tests create it (declared with StringData data)
        driver_across = hooks->bind_hook(DRIVER_HOOK_ACROSS, on_fact_across, nullptr);
        return driver ? True : False;
    case ON_UNLOAD:
    case ON_UNINSTALL:
        if (driver)
            hooks->release_hook(driver);
        if (driver_across)
            hooks->release_hook(driver_across);
        driver = driver_across = nullptr;
        return True;
    default:
        return True;
    }
}

}  // namespace

extern "C" DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "C++ conformance";
    info->author = "pyhost tests";
    info->description = "Checks the reference semantics through an SDK-style C++ wrapper";
    info->web = "";
    info->guid = PLUGIN_GUID;
    info->dependencies = nullptr;
    info->numDependencies = 0;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
