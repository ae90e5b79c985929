/*
 * The C conformance plugin: the reference host's facts seen from plain C, and the handle
 * misuses pyhost survives (checked releases). Each check runs when the test fires the hook
 * "pyhost.test.conformance" with data = a char[1024] holding "c.<fact>"; the plugin writes
 * "ok", or the failed expectations, into that buffer and returns True. Isolated, the test
 * fires "pyhost.test.conformance.display" instead (StringData: in = fact, out = answer).
 *
 * Every DCUtils conversion is checked with n smaller than, equal to and larger than the
 * result, in heap blocks of exactly n elements followed by a guard that must stay intact.
 *
 * Built by tests/test_conformance.py with gcc against sdk_headers/ only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "dcplugin.h"

#define PLUGIN_GUID "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c2}"
#define DRIVER_HOOK "pyhost.test.conformance"
#define DRIVER_HOOK_ACROSS "pyhost.test.conformance.display"
#define GUARD 8

static DCCorePtr core;
static DCHooksPtr hooks;
static DCUtilsPtr utils;
static DCConfigPtr config;
static subsHandle driver;
static subsHandle driver_across;

static char report[1024];
static size_t report_len;

static void fail(int line, const char* what)
{
    int n = snprintf(report + report_len, sizeof report - report_len, "line %d: %s; ", line,
                     what);
    if (n > 0 && report_len + (size_t)n < sizeof report)
        report_len += (size_t)n;
}

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail(__LINE__, #cond);                                                         \
    } while (0)

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- DCUtils at every n ------------------------------------------------------------------ */

typedef size_t(DCAPI* char_conv)(char*, const char*, size_t);

static void conv_at_every_n(char_conv f, const char* src, const char* full, size_t len)
{
    for (size_t n = 0; n <= len + 2; n++) {
        char* dst = malloc(n + GUARD);
        if (!dst)
            abort();
        memset(dst, 'X', n + GUARD);
        size_t want = min_size(len, n);
        size_t got = f(dst, src, n);
        EXPECT(got == want);
        EXPECT(memcmp(dst, full, want) == 0);
        size_t touched = 0;
        for (size_t i = want; i < n + GUARD; i++)
            touched += dst[i] != 'X';
        EXPECT(touched == 0); /* no NUL, nothing after min(len, n) elements */
        free(dst);
    }
}

static void utils_every_n(void)
{
    conv_at_every_n(utils->to_utf8, "caf\xe9!", "caf\xc3\xa9!", 6);
    conv_at_every_n(utils->from_utf8, "caf\xc3\xa9\xe2\x82\xac", "caf\xe9?", 5);
    conv_at_every_n(utils->to_utf8, "", "", 0);

    static const wchar_t wide[] = L"a\u00e9\u20ac";
    const char* wide_utf8 = "a\xc3\xa9\xe2\x82\xac";
    for (size_t n = 0; n <= 8; n++) {
        char* dst = malloc(n + GUARD);
        if (!dst)
            abort();
        memset(dst, 'X', n + GUARD);
        size_t want = min_size(6, n);
        EXPECT(utils->wcs_to_utf8(dst, wide, n) == want);
        EXPECT(memcmp(dst, wide_utf8, want) == 0 && dst[want] == 'X');
        free(dst);

        wchar_t* wdst = malloc((n + GUARD) * sizeof(wchar_t));
        if (!wdst)
            abort();
        for (size_t i = 0; i < n + GUARD; i++)
            wdst[i] = L'X';
        size_t wwant = min_size(3, n);
        EXPECT(utils->utf8_to_wcs(wdst, wide_utf8, n) == wwant);
        EXPECT(memcmp(wdst, wide, wwant * sizeof(wchar_t)) == 0 && wdst[wwant] == L'X');
        free(wdst);
    }
}

static void utils_base32(void)
{
    static const char* text = "MZXW6YTBOI"; /* "foobar" */
    for (size_t n = 0; n <= 8; n++) {
        uint8_t* dst = malloc(n + GUARD);
        if (!dst)
            abort();
        memset(dst, 0xAA, n + GUARD);
        EXPECT(utils->from_base32(dst, text, n) == n);
        EXPECT(memcmp(dst, "foobar\0\0", min_size(n, 8)) == 0); /* zero-filled beyond */
        EXPECT(dst[n] == 0xAA);
        free(dst);
    }
    char out[64];
    memset(out, 'X', sizeof out);
    EXPECT(utils->to_base32(out, (const uint8_t*)"foobar", 6) == 10);
    EXPECT(out[0] == 'X' && out[10] == 'X'); /* the length only: nothing written */
}

/* ---- DCConfig, raw ------------------------------------------------------------------------- */

static ConfigValuePtr get(const char* key, ConfigType type)
{
    return config->get_cfg(PLUGIN_GUID, key, type);
}

static void config_raw(void)
{
    ConfigBool yes = {CFG_TYPE_BOOL, True};
    config->set_cfg(PLUGIN_GUID, "flag", (ConfigValuePtr)&yes);
    ConfigStrPtr s = (ConfigStrPtr)get("flag", CFG_TYPE_STRING);
    EXPECT(s && s->type == CFG_TYPE_STRING && strcmp(s->value, "1") == 0);
    config->release((ConfigValuePtr)s);

    ConfigBoolPtr missing = (ConfigBoolPtr)get("never.set", CFG_TYPE_BOOL);
    EXPECT(missing && missing->type == CFG_TYPE_BOOL && missing->value == True);
    config->release((ConfigValuePtr)missing);

    ConfigInt64 big = {CFG_TYPE_INT64, INT64_C(-9000000000)};
    config->set_cfg(PLUGIN_GUID, "big", (ConfigValuePtr)&big);
    ConfigIntPtr as_int = (ConfigIntPtr)get("big", CFG_TYPE_INT);
    EXPECT(as_int && as_int->value == (int32_t)atoi("-9000000000"));
    config->release((ConfigValuePtr)as_int);
    ConfigInt64Ptr as_int64 = (ConfigInt64Ptr)get("big", CFG_TYPE_INT64);
    EXPECT(as_int64 && as_int64->value == INT64_C(-9000000000));
    config->release((ConfigValuePtr)as_int64);
    EXPECT(get("big", CFG_TYPE_UNKNOWN) == NULL);
}

/* ---- misuses pyhost survives -------------------------------------------------------------- */

static Bool DCAPI noop(dcptr_t o, dcptr_t d, dcptr_t c, Bool* b)
{
    (void)o, (void)d, (void)c, (void)b;
    return False;
}

/* The host still answers normally after a misuse. */
static void still_works(void)
{
    ConfigValuePtr v = config->get_cfg("CoreSetup", "Nick", CFG_TYPE_STRING);
    EXPECT(v && v->type == CFG_TYPE_STRING);
    config->release(v);
    hookHandle h = hooks->create_hook("test.conformance.c.alive", NULL);
    subsHandle s = hooks->bind_hook("test.conformance.c.alive", noop, NULL);
    EXPECT(h != NULL && s != NULL);
    EXPECT(hooks->release_hook(s) == 0);
    EXPECT(hooks->destroy_hook(h) == True);
}

static void misuse_config_double_release(void)
{
    ConfigValuePtr v = config->get_cfg(PLUGIN_GUID, "x", CFG_TYPE_STRING);
    config->release(v);
    config->release(v);
    still_works();
}

static void misuse_config_stack_release(void)
{
    ConfigStr on_stack = {CFG_TYPE_STRING, "not from DCConfig"};
    config->release((ConfigValuePtr)&on_stack);
    EXPECT(strcmp(on_stack.value, "not from DCConfig") == 0);
    still_works();
}

static void misuse_subscription_double_release(void)
{
    hookHandle h = hooks->create_hook("test.conformance.c.subs", NULL);
    subsHandle keep = hooks->bind_hook("test.conformance.c.subs", noop, NULL);
    subsHandle s = hooks->bind_hook("test.conformance.c.subs", noop, NULL);
    EXPECT(hooks->release_hook(s) == 1);
    EXPECT(hooks->release_hook(s) == 0);
    /* a new subscription may reuse the old one's memory: the old handle must stay dead */
    subsHandle t = hooks->bind_hook("test.conformance.c.subs", noop, NULL);
    EXPECT(hooks->release_hook(s) == 0);
    EXPECT(hooks->release_hook(t) == 1);
    EXPECT(hooks->release_hook(keep) == 0);
    EXPECT(hooks->destroy_hook(h) == True);
    still_works();
}

static void misuse_destroy_hook_garbage(void)
{
    static char garbage[64];
    EXPECT(hooks->destroy_hook((hookHandle)garbage) == False);
    EXPECT(hooks->destroy_hook((hookHandle)(uintptr_t)0xdeadbeef) == False);
    hookHandle h = hooks->create_hook("test.conformance.c.hook", NULL);
    EXPECT(hooks->destroy_hook(h) == True);
    EXPECT(hooks->destroy_hook(h) == False);
    still_works();
}

static void misuse_release_hook_garbage(void)
{
    static char garbage[64];
    EXPECT(hooks->release_hook((subsHandle)garbage) == 0);
    EXPECT(hooks->release_hook((subsHandle)(uintptr_t)0x12345) == 0);
    still_works();
}

static void misuse_release_interface_garbage(void)
{
    static DCInterface table = {1};
    static char garbage[64];
    EXPECT(core->release_interface((intfHandle)garbage) == False);
    EXPECT(core->release_interface((intfHandle)&table) == False); /* the table, not the handle */
    intfHandle h = core->register_interface("test.conformance.c.Intf", &table);
    EXPECT(h != NULL);
    EXPECT(core->release_interface(h) == True);
    EXPECT(core->release_interface(h) == False);
    /* a newer registration (of another table, likely in the same memory) is not what the
     * stale handle names: it stays */
    static DCInterface other = {1};
    intfHandle o = core->register_interface("test.conformance.c.Intg", &other);
    EXPECT(o != NULL);
    EXPECT(core->release_interface(h) == False);
    EXPECT(core->query_interface("test.conformance.c.Intg", 1) == &other);
    EXPECT(core->release_interface(o) == True);
    still_works();
}

/* ---- the driver ------------------------------------------------------------------------------ */

static const struct {
    const char* name;
    void (*check)(void);
} facts[] = {
    {"c.utils.every_n", utils_every_n},
    {"c.utils.base32", utils_base32},
    {"c.config.raw", config_raw},
    {"c.misuse.config_double_release", misuse_config_double_release},
    {"c.misuse.config_stack_release", misuse_config_stack_release},
    {"c.misuse.subscription_double_release", misuse_subscription_double_release},
    {"c.misuse.destroy_hook_garbage", misuse_destroy_hook_garbage},
    {"c.misuse.release_hook_garbage", misuse_release_hook_garbage},
    {"c.misuse.release_interface_garbage", misuse_release_interface_garbage},
};

/* Runs the named fact into `report`; 0 when this plugin does not know it. */
static int run_fact(const char* name)
{
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        if (strcmp(name, facts[i].name) != 0)
            continue;
        report_len = 0;
        report[0] = '\0';
        facts[i].check();
        if (!report_len)
            snprintf(report, sizeof report, "ok");
        return 1;
    }
    return 0;
}

static Bool DCAPI on_fact(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object, (void)common, (void)bBreak;
    char* buffer = data;
    if (!buffer || !run_fact(buffer))
        return False; /* isolated (this driver's data does not cross), or another's fact */
    snprintf(buffer, 1024, "%s", report);
    return True;
}

/* The driver of an isolated plugin: StringData, in = the fact, out = the answer (the
 * report, which this plugin owns and keeps until the next fact). */
static Bool DCAPI on_fact_across(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object, (void)common, (void)bBreak;
    StringData* sd = data;
    if (!sd || !sd->in || !run_fact(sd->in))
        return False;
    sd->out = report;
    return True;
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr c, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL:
    case ON_LOAD:
    case ON_LOAD_RUNTIME:
        core = c;
        hooks = (DCHooksPtr)c->query_interface(DCINTF_HOOKS, DCINTF_HOOKS_VER);
        utils = (DCUtilsPtr)c->query_interface(DCINTF_DCPP_UTILS, DCINTF_DCPP_UTILS_VER);
        config = (DCConfigPtr)c->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
        if (!hooks || !utils || !config)
            return False;
        driver = hooks->bind_hook(DRIVER_HOOK, on_fact, NULL);
        /* only the isolated tests create it (declared with StringData data) */
        driver_across = hooks->bind_hook(DRIVER_HOOK_ACROSS, on_fact_across, NULL);
        return driver ? True : False;
    case ON_UNLOAD:
    case ON_UNINSTALL:
        if (driver)
            hooks->release_hook(driver);
        if (driver_across)
            hooks->release_hook(driver_across);
        driver = driver_across = NULL;
        return True;
    default:
        return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "C conformance";
    info->author = "pyhost tests";
    info->description = "Checks the reference semantics from C, and survivable misuses";
    info->web = "";
    info->guid = PLUGIN_GUID;
    info->dependencies = NULL;
    info->numDependencies = 0;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = 1.0;
    return plugin_main;
}
